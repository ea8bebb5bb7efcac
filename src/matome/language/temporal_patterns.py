"""What time expressions in Japanese news look like: the patterns and tables ``temporal`` reads.

Kept apart from the resolving rules so each file reads in one sitting: the
zones a report may name, eras, modifiers, units, and the regular
expressions for dates, times, spans, sets, fiscal years, seasons and quarters.
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
ZONES: dict[str, tzinfo] = {
    "日本時間": JST, "JST": JST, "東京時間": JST,
    "米東部時間": ZoneInfo("America/New_York"), "米国東部時間": ZoneInfo("America/New_York"),
    "東部時間": ZoneInfo("America/New_York"), "ワシントン時間": ZoneInfo("America/New_York"),
    "米中部時間": ZoneInfo("America/Chicago"), "米西部時間": ZoneInfo("America/Los_Angeles"),
    "米太平洋時間": ZoneInfo("America/Los_Angeles"), "太平洋時間": ZoneInfo("America/Los_Angeles"),
    "英国時間": ZoneInfo("Europe/London"), "ロンドン時間": ZoneInfo("Europe/London"),
    "欧州中部時間": ZoneInfo("Europe/Paris"), "中国時間": ZoneInfo("Asia/Shanghai"),
    "北京時間": ZoneInfo("Asia/Shanghai"), "韓国時間": ZoneInfo("Asia/Seoul"),
    "協定世界時": UTC, "グリニッジ標準時": UTC, "UTC": UTC,
    "GMT": UTC,
}
# 現地時間 names the event's own zone, which the text does not give: kept as a label.
_TZ = "(?P<tz>" + "|".join(sorted([*ZONES, "現地時間"], key=len, reverse=True)) + r")?\s*"
_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988, "昭和": 1925, "S": 1925,
         "大正": 1911, "T": 1911, "明治": 1867, "M": 1867}
_MODS = {
    "初め": "START", "始め": "START", "初頭": "START", "上旬": "START", "前半": "START",
    "中旬": "MID", "半ば": "MID", "中ごろ": "MID", "中頃": "MID",
    "下旬": "END", "末": "END", "終わり": "END", "後半": "END",
    "以前": "ON_OR_BEFORE", "まで": "ON_OR_BEFORE", "以降": "ON_OR_AFTER", "以来": "ON_OR_AFTER",
    "頃": "APPROX", "ごろ": "APPROX", "前後": "APPROX", "近く": "APPROX", "ほど": "APPROX",
    "余り": "APPROX", "あまり": "APPROX", "約": "APPROX", "くらい": "APPROX", "ぐらい": "APPROX",
    "ばかり": "APPROX",
}
_MOD = r"(?P<mod>" + "|".join(sorted(_MODS, key=len, reverse=True)) + ")?"
_WEEKDAY = r"(?:\s*[(（](?P<wd>[月火水木金土日])(?:曜日?)?[)）])?"
_WD = {c: i for i, c in enumerate("月火水木金土日")}
_SEASONS = {"春": "SP", "夏": "SU", "秋": "FA", "冬": "WI"}

_DATE = re.compile(
    _TZ + r"(?:"
    r"(?P<bc>紀元前)(?P<bcy>\d+)年"
    r"|(?:(?P<era>令和|平成|昭和|大正|明治|(?<![A-Za-z])[RHSTM])(?P<ey>\d{1,2}|元)"
    r"(?:年(?:(?P<em>\d{1,2})月(?:(?P<ed>\d{1,2})日)?)?|[/.\-](?P<em2>\d{1,2})[/.\-](?P<ed2>\d{1,2})))"
    r"|(?:(?P<ad>西暦|皇紀)?(?P<y>\d{1,4})年(?![度間])(?:(?P<m>\d{1,2})月(?!間)(?:(?P<d>\d{1,2})日(?![間目]))?)?)"
    r"|(?<![\d/.])(?P<sy>\d{4})(?P<sep>[/.\-・,])(?P<sm>\d{1,2})(?:(?P=sep)(?P<sd>\d{1,2}))?(?![\d/])"
    r"|(?:(?P<m2>\d{1,2})月(?![間目])(?:(?P<d2>\d{1,2})日(?![間目]))?)"
    # 「2/3を超える議席」 is a fraction, not February 3
    r"|(?<![\d/.:約])(?P<m3>\d{1,2})/(?P<d3>\d{1,2})(?![\d/]|\s*(?:を超|を上回|を下回|を割|を占|に達|超|以上|以下|未満|強|弱|程度))"
    r"|(?<![\d.])(?P<d4>\d{1,2})日(?![間目前後])"
    r")" + _WEEKDAY + _MOD
)
_SEASON = re.compile(r"(?P<y>\d{4})年?(?P<s>春|夏|秋|冬)")
_QUARTER = re.compile(r"(?:(?P<y>\d{4})年)?(?:第(?P<q>[1-4])四半期|(?P<h>上|下)半期)")
_FISCAL = re.compile(
    r"(?:(?P<y>\d{4})|(?P<era>令和|平成)(?P<ey>\d{1,2}|元)|(?P<rel>今|来|昨|前|本|新|再来))年度")
_WEEKDAY_ONLY = re.compile(r"(?P<wd>[月火水木金土日])曜日?")
_TIME = re.compile(
    _TZ + r"(?:(?P<ap>午前|午後|AM|PM|今朝|朝|昼|夕方|今夜|今晩|夜中|夜|深夜|未明|明け方|同)\s*)?"
    r"(?:(?P<h>\d{1,2})時(?:(?P<mi>\d{1,2})分|(?P<half>半))?(?:(?P<s>\d{1,2})秒)?"
    r"|(?<![\d/])(?P<h2>\d{1,2}):(?P<mi2>\d{2})(?::(?P<s2>\d{2}))?(?:\s*(?P<ap2>AM|PM|am|pm))?)"
)
_NAMED = {  # word → (unit, steps back (+) or ahead (-))
    "一昨々日": ("D", 3), "一昨昨日": ("D", 3), "一昨日": ("D", 2), "おととい": ("D", 2),
    "昨日": ("D", 1), "きのう": ("D", 1), "今日": ("D", 0), "本日": ("D", 0), "きょう": ("D", 0),
    "明日": ("D", -1), "あす": ("D", -1), "あした": ("D", -1), "明後日": ("D", -2),
    "あさって": ("D", -2), "一昨年": ("Y", 2), "おととし": ("Y", 2), "昨年": ("Y", 1),
    "去年": ("Y", 1), "今年": ("Y", 0), "本年": ("Y", 0), "ことし": ("Y", 0), "来年": ("Y", -1),
    "再来年": ("Y", -2), "先々週": ("W", 2), "先週": ("W", 1), "今週": ("W", 0),
    "来週": ("W", -1), "再来週": ("W", -2), "先々月": ("M", 2), "先月": ("M", 1),
    "今月": ("M", 0), "来月": ("M", -1), "再来月": ("M", -2),
}
_ANCHORED = {  # relative to the date mentioned before, not to publication
    "翌日": ("D", -1), "前日": ("D", 1), "同日": ("D", 0), "翌週": ("W", -1), "前週": ("W", 1),
    "翌月": ("M", -1), "前月": ("M", 1), "同月": ("M", 0), "翌年": ("Y", -1), "前年": ("Y", 1),
    "同年": ("Y", 0),
}
_NAMED_RE = re.compile(
    "(?P<w>" + "|".join(sorted([*_NAMED, *_ANCHORED], key=len, reverse=True)) + ")"
    r"(?!物)"   # 無担保コール翌日物金利: the overnight rate, no day
    r"(?:(?P<m>\d{1,2})月(?!間)(?:(?P<d>\d{1,2})日)?|(?P<d2>\d{1,2})日)?" + _MOD)
_UNIT = r"(?P<u>世紀|年|カ月|ヶ月|か月|ケ月|箇月|週間|週|日|時間|分|秒)"
_SPAN = re.compile(
    r"(?P<pre>四半|半|約)?(?P<n>\d+(?:\.\d+)?)?" + _UNIT + r"(?P<half>半)?"
    r"(?:(?P<n2>\d+)(?P<u2>分|秒))?"
    r"(?P<q>ほど|近く|余り|あまり|以上|前後|くらい|ぐらい|ばかり)?"
    r"(?P<dir>前|まえ|後|ぶり|目|来|以内|もの間|間)?"
)
# Frequencies: 毎月, 週3日, 年に1回, 3日おき (TIMEX3 SET: a period, and how often in it).
_SET = re.compile(
    r"毎(?P<each>時間|年|月|週|日|時|分|秒)"
    r"|(?P<n>\d+(?:\.\d+)?)(?P<u>年|カ月|ヶ月|か月|週間|週|日|時間|分|秒)(?P<q>おき|ごと|毎)"
    # 年1回, 週3日, 年に1ヶ月 — never right after a digit (2021年7月 is a date)
    r"|(?<![\d.])(?P<pu>年|月|週|日)(?P<ni>に)?(?P<k>\d+(?:\.\d+)?)"
    r"(?P<ku>回|度|カ月|ヶ月|か月|週間|日|時間|分|月)"
    # 1日1時間, 3日に1回
    r"|(?<![\d.])(?P<pn>\d+)日(?P<ni2>に)?(?P<k2>\d+)(?P<ku2>回|度|時間|分)"
)
_SET_UNIT = {"年": ("Y", 1), "月": ("M", 1), "週": ("W", 1), "日": ("D", 1), "時": ("H", 1),
             "時間": ("H", 1), "分": ("MIN", 1), "秒": ("S", 1)}
_UNIT_CODE = {"世紀": ("Y", 100), "年": ("Y", 1), "カ月": ("M", 1), "ヶ月": ("M", 1),
              "か月": ("M", 1), "ケ月": ("M", 1), "箇月": ("M", 1), "週間": ("W", 1),
              "週": ("W", 1), "日": ("D", 1), "時間": ("H", 1), "分": ("MIN", 1), "秒": ("S", 1)}
# 「…を発表した。」「開かれた会合」: past tense; 「…予定だ。」「ため」「したい」 are not.
_PAST_CLAUSE = re.compile(r"た(?![\u3040-\u309f])|た(?=と|が|の|けれど|ものの)")
# 「3月1日から課すと発表した」: the date belongs to the clause before the quotative と.
_QUOTATIVE = re.compile(r"[るすくぐむぶつうぬだい]と")
