"""Scale: the per-article work of ``process`` on a distributed engine (Ray).

``ray_engine`` is an ``Engine`` (``matome.batch``): the pipeline hands it the
work of extract and analyze a window at a time, it runs them as Ray Data
pipelines (stateless steps as tasks, the embedder in an actor pool) and yields
each result back in order, for the pipeline to store exactly as the local
engine does. The ordered stages never leave the pipeline's one writer.
"""
