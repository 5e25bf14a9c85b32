"""``msc demo``: the whole story of the pilot played on a database and a clock of its own.

One module per chapter (merchant, checkout, conversion, month), each a few named steps that act
as their user would (the merchant's key and the Pioneer's token over HTTP, the treasury through
the use cases its CLI runs); ``play`` orders them into one ``Story`` (decision 0035).
"""
