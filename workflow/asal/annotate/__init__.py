"""The human oracle: a labelling page in the browser answers a round's queries.

regions  pure numpy: a query's mask, outline, crop box and the pictures the page shows
journal  the append-only, fsync'ed record of every answer and undo, and its replay
session  one round being answered: the queries, their pictures, the journal, the rules
app      the Flask application (routes, token, size limit, refusals)
server   binds 127.0.0.1 (or another address with a token), serves until every query is
         answered, and hands the answers back

The stage that serves it and then writes answers.csv and labelled.h5 exactly as the simulated
oracle does is asal.stages.annotate (`asal annotate`, rule query with `oracle: human`).
"""
