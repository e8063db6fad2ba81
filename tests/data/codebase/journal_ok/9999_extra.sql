not in the journal: ignored
