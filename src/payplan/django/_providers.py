"""Building the configured providers: each kind from its secrets (read from the environment) and options."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..providers import Provider
from .conf import ProviderSettings, SettingsError, import_string

__all__ = ["build_provider"]


def build_provider(config: ProviderSettings) -> Provider:
    """The :class:`~payplan.providers.Provider` one ``PAYPLAN["PROVIDERS"]`` entry describes.

    Secrets come from the environment variables the entry names (read now,
    never kept in settings); ``OPTIONS`` are passed on as keyword arguments.

    Raises:
        SettingsError: a factory that is not there or returns no provider;
            options the provider refuses.
    """
    secrets = config.secret_values()
    options = dict(config.options)
    try:
        if config.factory is not None:
            built = import_string(config.factory, f"PAYPLAN['PROVIDERS'][{config.name!r}]['FACTORY']")(secrets, options)
        else:
            built = _KINDS[config.kind](secrets, options)
    except TypeError as exc:
        raise SettingsError(f"PAYPLAN['PROVIDERS'][{config.name!r}]: the provider refused its OPTIONS: {exc}") from None
    if not isinstance(built, Provider):
        raise SettingsError(
            f"expected PAYPLAN['PROVIDERS'][{config.name!r}] to build a payplan Provider, got {type(built).__name__}"
        )
    return built


def _stripe(secrets: dict[str, str], options: dict[str, Any]) -> Provider:
    import stripe

    from ..providers.stripe import StripeMode, StripeProvider

    client_options: dict[str, Any] = {}
    if "api_base" in options:  # a proxy, or Stripe's local fake in tests
        client_options["base_addresses"] = {"api": options.pop("api_base")}
    if "max_network_retries" in options:
        client_options["max_network_retries"] = options.pop("max_network_retries")
    if "mode" in options:
        options["mode"] = StripeMode(options["mode"])
    client = stripe.StripeClient(secrets["api_key"], **client_options)
    return StripeProvider(client, webhook_secret=secrets.get("webhook_secret") or None, **options)


def _square(secrets: dict[str, str], options: dict[str, Any]) -> Provider:
    from square import Square

    from ..providers.square import SquareProvider

    client_options: dict[str, Any] = {}
    if "base_url" in options:
        client_options["base_url"] = options.pop("base_url")
    elif options.pop("environment", "production") == "sandbox":
        from square.environment import SquareEnvironment

        client_options["environment"] = SquareEnvironment.SANDBOX
    client = Square(token=secrets["access_token"], **client_options)
    return SquareProvider(client, signature_key=secrets.get("signature_key") or None, **options)


def _paypal(secrets: dict[str, str], options: dict[str, Any]) -> Provider:
    from paypalserversdk.configuration import Configuration, Environment
    from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
    from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

    from ..providers.paypal import PayPalOptions, PayPalServerProvider, server_sdk_configuration

    config: Any = server_sdk_configuration(options.pop("base_url")) if "base_url" in options else Configuration
    environment = Environment.SANDBOX if options.pop("environment", "production") == "sandbox" else Environment.PRODUCTION
    paypal = PayPalOptions(**options.pop("paypal_options", {}))
    client = PaypalServersdkClient(config=config(
        environment=environment,
        client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
            o_auth_client_id=secrets["client_id"], o_auth_client_secret=secrets["client_secret"]
        ),
    ))
    return PayPalServerProvider(client, paypal, **options)


def _sandbox(secrets: dict[str, str], options: dict[str, Any]) -> Provider:
    from ..testing import SandboxProvider

    today = options.pop("today", None)
    if isinstance(today, str):
        today = dt.date.fromisoformat(today)
    if today is None:
        from django.utils import timezone

        today = timezone.localdate()
    if secrets.get("webhook_secret"):
        options["webhook_secret"] = secrets["webhook_secret"]
    return SandboxProvider(today, **options)


_KINDS = {"stripe": _stripe, "square": _square, "paypal": _paypal, "sandbox": _sandbox}
