"""A faster ``__init__`` for frozen dataclasses made on hot paths.

A frozen dataclass's generated ``__init__`` stores each field with ``object.__setattr__`` (its
own ``__setattr__`` refuses): one call through a wrapper per field, about three times the
cost of storing the values in the instance's ``__dict__`` directly. The leave write path makes
a dozen such objects per transaction (a request has 20 fields), inside the write transaction and the
event loop. ``quick_init`` replaces the generated ``__init__`` with one of the same signature
(positional or keyword, the same defaults) that writes the fields into ``__dict__``; the class
stays a frozen dataclass (assignment still raises, ``__eq__``, ``__hash__``, ``__repr__``,
``replace`` and ``fields`` are the dataclass's own).

Only for plain frozen dataclasses: no ``__slots__``, no ``__post_init__``, no ``InitVar``,
every field in ``__init__`` and none keyword-only (checked when the class is decorated).
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any, TypeVar, cast

T = TypeVar("T")


class _Factory:
    """The default of a field with a ``default_factory``: made for each instance."""

    __slots__ = ()


_FACTORY = _Factory()


def quick_init(cls: type[T]) -> type[T]:
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__}: quick_init is for frozen dataclasses")
    if hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: quick_init does not support __post_init__ or slots")
    env: dict[str, Any] = {"_FACTORY": _FACTORY}
    arguments: list[str] = []
    body: list[str] = ["    values = self.__dict__"]
    for item in fields(cast(Any, cls)):  # a dataclass: checked above
        name = item.name
        if not item.init or item.kw_only:
            raise TypeError(f"{cls.__name__}.{name}: quick_init needs every field positional")
        if item.default is not MISSING:
            env[f"_default_{name}"] = item.default
            arguments.append(f"{name}=_default_{name}")
        elif item.default_factory is not MISSING:
            env[f"_factory_{name}"] = item.default_factory
            arguments.append(f"{name}=_FACTORY")
            body.append(f"    if {name} is _FACTORY:\n        {name} = _factory_{name}()")
        else:
            arguments.append(name)
        body.append(f"    values[{name!r}] = {name}")
    source = f"def __init__(self, {', '.join(arguments)}) -> None:\n" + "\n".join(body) + "\n"
    exec(source, env)  # the source is made above from the class's field names
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - assigning a method pyright would refuse
    return cls
