"""The `bare` reference of `make bench`: Django with no app, no middleware and
no database, one view returning a small JSON body. What any request served by
Django through gunicorn on this machine costs at least."""
