low, high = 0, 600  # a code works `low` s after arrival and is refused at `high`
while high - low > 1:
    middle = (low + high) // 2
    if works_after(middle):
        low = middle
    else:
        high = middle
lifetime = high
lifetime
