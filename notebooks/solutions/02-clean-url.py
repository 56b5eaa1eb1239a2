my_request = course.new_request("read:page:confluence search:confluence offline_access")
my_url = my_request.url
kit.lint(my_url, registered_redirect_uri=course.config.redirect_uri)
