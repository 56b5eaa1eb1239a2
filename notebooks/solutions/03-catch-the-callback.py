my_request = course.new_request("read:me")
with kit.CallbackCatcher(
    course.config.redirect_uri,
    my_request.state,
    timeout=120,
    authorization_url=my_request.url,
) as my_catcher:
    if course.is_sandbox:  # on Atlassian, open my_catcher.start_url and Accept
        press(my_request.url, "accept")
    my_result = my_catcher.wait(120)
my_result
