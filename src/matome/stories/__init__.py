"""Stories: copies dropped, reports grouped into stories and storylines, themes tagged.

``dedupe`` marks copies, ``cluster`` assigns reports to stories online,
``storylines`` links stories of one situation, ``members`` says which reports
a story is written from, ``tags`` finds its themes.
"""

from matome.stories.cluster import Assignment, Clusterer, Features, storyline_id
from matome.stories.storylines import Profile, Storylines, profile_cosine

__all__ = [
    "Assignment",
    "Clusterer",
    "Features",
    "Profile",
    "Storylines",
    "profile_cosine",
    "storyline_id",
]
