"""The operator API of a node: the picture model and hub (picture.py), the FastAPI app (app.py), the
picture adapter from node step results (picture_feed.py), a live node's HTTP face (node_app.py) and
running it all with uvicorn (serve.py).

    from triwarn.api.picture import Picture, PictureHub
    from triwarn.api.app import create_app
"""
