"""Stories: copies dropped, reports grouped into stories and storylines, themes tagged.

``dedupe`` marks copies, ``cluster`` assigns reports to stories online,
``storylines`` links stories of one situation, ``tags`` finds a story's
themes, ``reactions`` attaches board posts to stories; ``members`` says which
reports a story is written from. ``runs`` runs the dedupe, story and tag
stages over what the store has queued; ``window`` keeps the clusterer's
state between runs (a snapshot, or the active window replayed).

MinHash-LSH near copies (datasketch); online assignment in publication order
from e5 embeddings, lemma, entity and event-day evidence, with candidates from
the time window's centroids and an entity index, so cost follows the news
rate, not the archive; stories merge and split with redirecting ids. A
run reads what is queued and the active window, never the whole archive:
near copies are looked for in the dedupe window (exact ones by an indexed
hash), a tag's name comes from sums a changed story updates by its part.

Only ``members`` — pure functions the site shares with the pipeline — is
re-exported here; the stage modules are imported by name
(``from matome.stories import cluster``), so that reading stories (the site,
the server) never loads the stage code and what it needs (NumPy models,
the language stack).
"""

from matome.stories.members import NOT_REPORTS, in_order, reports, story_articles, storyline_id

__all__ = ["NOT_REPORTS", "in_order", "reports", "story_articles", "storyline_id"]
