// validate --site: is the Meta Pixel's fbq there?
() => typeof window.fbq === 'function'
