"""Scale: the per-article work of ``process`` on a distributed engine (Ray).

``ray_engine`` is an ``Engine`` (``matome.batch``): the pipeline hands it the
work of extract, analyze and the extractive writing of each story a window at
a time, it runs them as Ray Data pipelines (stateless steps as tasks, the
embedder in an actor pool) and yields each result back in order, for the
pipeline to store exactly as the local engine does. The ordered decisions
(dedupe, stories, storylines, tags) never leave the pipeline's one writer.
"""
