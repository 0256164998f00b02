"""The operator API of a node: the picture model and hub (picture.py), the FastAPI app (app.py).

    from triwarn.api.picture import Picture, PictureHub
    from triwarn.api.app import create_app
"""
