my_request = course.new_request(kit.course.COURSE_SCOPES)
callback = course.config.redirect_uri
with kit.CallbackCatcher(callback, my_request.state) as my_catcher:
    if course.is_sandbox:  # on Atlassian, open my_request.url and press Accept
        press(my_request.url, "accept")
    my_result = my_catcher.wait(120)
my_tokens = kit.exchange_code(course.config, my_result, request=my_request)
course.store.save(my_tokens)
my_tokens
