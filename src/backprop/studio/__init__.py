"""The studio: the article, live, in the browser, on the real engine (``backprop studio``).

``app`` is the web application (Starlette), ``server`` starts it (uvicorn),
``session`` holds one page's data, model and training run, ``trainer`` runs
the engine's training loop in a thread, ``pictures`` computes what the page
draws, ``maths`` the explanations (from :mod:`backprop.explain`), ``build``
the data and the model, and ``settings`` checks what the page asks for. The
page itself (HTML, CSS, JavaScript, and KaTeX for the formulas) is in
``static/`` and needs nothing from the internet.

Only ``app`` and ``server`` import the web libraries (the ``studio`` extra:
``pip install 'backprop[studio]'``); nothing outside this package imports it.
"""
