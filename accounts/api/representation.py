"""Rendering an object with a read-only serializer without building the
serializer again for each object.

A DRF serializer deep-copies its declared fields every time one is created
(`Serializer.fields`): for /users/me that copying cost more than the rest of
the serialisation. The output of a serializer whose fields read only the object
(no context, no request) does not depend on which serializer instance renders
it, so one instance per class, built on first use, renders every object with
DRF's own `to_representation`: the same dictionary, the same JSON.
"""

from functools import cache


@cache
def _renderer(serializer_class):
    return serializer_class()


def represent(serializer_class, instance) -> dict:
    """What `serializer_class(instance).data` holds, for a serializer whose
    fields need no context."""
    return _renderer(serializer_class).to_representation(instance)
