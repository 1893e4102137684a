"""A mypy plugin: calling a factory_boy factory gives its model, as at run time.

``StoryFactory(published=True)`` returns a ``Story``: factory_boy's metaclass ``__call__`` runs
the factory's strategy (``create`` here). mypy does not read a metaclass's ``__call__``, so
without this it types the call as an instance of the factory class, and every test that uses
what it made fails to type-check. A factory declares its model as its type argument
(``class StoryFactory(DjangoModelFactory[Story])``), which is also what ``StoryFactory.create()``
returns in factory_boy's own annotations; this plugin gives the plain call the same type.

Only calls of ``factory.base.BaseFactory`` subclasses change; nothing else is touched.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.maptype import map_instance_to_supertype
from mypy.nodes import TypeInfo
from mypy.plugin import FunctionContext, Plugin
from mypy.types import Instance, Type, get_proper_type

BASE_FACTORY = "factory.base.BaseFactory"


class FactoryCallPlugin(Plugin):
    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        symbol = self.lookup_fully_qualified(fullname)
        node = symbol.node if symbol is not None else None
        if isinstance(node, TypeInfo) and node.has_base(BASE_FACTORY):
            return _model_of_factory
        return None


def _model_of_factory(ctx: FunctionContext) -> Type:
    made = get_proper_type(ctx.default_return_type)
    if not isinstance(made, Instance):
        return ctx.default_return_type
    base = next(info for info in made.type.mro if info.fullname == BASE_FACTORY)
    (model,) = map_instance_to_supertype(made, base).args
    # A factory that names no type argument keeps mypy's answer (the factory instance), so the
    # mistake shows up where the result is used.
    return model if isinstance(get_proper_type(model), Instance) else ctx.default_return_type


def plugin(version: str) -> type[Plugin]:
    return FactoryCallPlugin
