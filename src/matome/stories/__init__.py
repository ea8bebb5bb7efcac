"""Stories: copies dropped, reports grouped into stories and storylines, themes tagged.

``dedupe`` marks copies, ``cluster`` assigns reports to stories online,
``storylines`` links stories of one situation, ``tags`` finds a story's
themes, ``reactions`` attaches board posts to stories; ``members`` says which
reports a story is written from.

MinHash-LSH near copies (datasketch); online assignment in publication order
from e5 embeddings, lemma, entity and event-day evidence, with candidates from
the time window's centroids and an entity index, so cost follows the news
rate, not the archive; stories merge and split with redirecting ids.

Only ``members`` — pure functions the site shares with the pipeline — is
re-exported here; the stage modules are imported by name
(``from matome.stories import cluster``), so that reading stories (the site,
the server) never loads the stage code and what it needs (NumPy models,
the language stack).
"""

from matome.stories.members import NOT_REPORTS, in_order, reports, story_articles, storyline_id

__all__ = ["NOT_REPORTS", "in_order", "reports", "story_articles", "storyline_id"]
