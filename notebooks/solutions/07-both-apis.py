advice = kit.scopes.scopes_for(["v1 search", "v2 pages"])
my_tokens = course.sign_in(advice.scope_param())
mine = course.confluence()
eng_pages = sum(1 for _ in mine.search("space = ENG and type = page", limit=100))
advice.recommended, eng_pages
