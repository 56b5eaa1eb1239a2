born = course.controls.now()  # day 0, on the sandbox's clock
course.sign_in()  # a new family
for days in (80, 80, 40):  # day 80, 160, 200: never 90 days without a refresh
    course.controls.advance(days=days)
    survivor = course.store.refresh_with(refresh)
survivor
