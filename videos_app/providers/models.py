"""Where jobs run: the providers (engines with their settings) and the model routes.

Defined here, imported by ``videos_app.models``: app label ``videos_app`` and the tables
stay as the migrations made them.
"""

from __future__ import annotations

from django.db import models

from .registry import kind_choices


class Provider(models.Model):
    """A generation backend the studio can send jobs to (admin-editable).

    The API key itself is never stored here: ``api_key_env`` names an environment
    variable and ``api_key_file`` a file that holds it.
    """

    name = models.SlugField(max_length=64, unique=True)
    # The kinds are the engine registry's (STUDIO_ENGINES adds more without a migration).
    kind = models.CharField(max_length=32, choices=kind_choices)
    label = models.CharField(max_length=100, blank=True)
    base_url = models.URLField(blank=True, help_text="e.g. https://gateway.example/v1")
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Environment variable that holds the API key."
    )
    api_key_file = models.CharField(
        max_length=500, blank=True, help_text="Or a file that holds the API key."
    )
    webhook_secret_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Environment variable holding the secret of the webhooks it sends us.",
    )
    # What one kind of engine also needs, by name (e.g. fal's webhook key set URL);
    # each engine documents its own and the admin shows them.
    options = models.JSONField(default=dict, blank=True)
    timeout_seconds = models.FloatField(default=60.0)
    connect_timeout_seconds = models.FloatField(default=5.0)
    max_concurrency = models.PositiveSmallIntegerField(
        default=4, help_text="Jobs running on this provider at once."
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label or self.name


class ModelRoute(models.Model):
    """A public model name and where it runs: a provider and that provider's model name."""

    name = models.CharField(max_length=64, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="routes")
    upstream_model = models.CharField(
        max_length=128, blank=True, help_text="The provider's own name (default: the same)."
    )
    sizes = models.JSONField(default=list, blank=True, help_text="Allowed sizes; empty: all.")
    seconds = models.JSONField(default=list, blank=True, help_text="Allowed durations; empty: all.")
    # What the model accepts (providers.capabilities.Capabilities as JSON; empty: the
    # engine's documented defaults for the model).
    capabilities = models.JSONField(default=dict, blank=True)
    # What the route's engine also needs, by name: for a ``diffusers`` route its weights
    # directory, steps, guidance and memory options (providers.diffusers.route_settings).
    options = models.JSONField(default=dict, blank=True)
    price_per_second = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="US dollars."
    )
    # Prices by resolution and sound (providers.prices: {"1080p": "0.12", "*+audio":
    # "0.40"}); with price_per_second as "*". Both empty: the vendor's list prices.
    prices = models.JSONField(default=dict, blank=True)
    listed = models.BooleanField(default=True, help_text="Offered on the create form.")
    enabled = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name
