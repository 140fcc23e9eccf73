"""``manage.py providers`` and ``manage.py routes``, and the admin's "Check connection":
the admin's forms decide what is refused, the key is never printed, twice is safe."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from videos_app.models import ModelRoute, Provider
from videos_app.providers import catalog
from videos_app.providers.base import ProviderError

pytestmark = pytest.mark.django_db

KEY = "sk-secret-key-never-shown"
ENGINES = {
    "probing": ("Probing engine", "tests.test_providers_cli.ProbingEngine", ("base_url", "key")),
    "silent": ("Engine without a probe", "tests.test_providers_cli.SilentEngine", ("key",)),
}


class SilentEngine:
    closed: ClassVar[int] = 0

    def __init__(self, row: Provider) -> None:
        self.row = row

    @classmethod
    def from_row(cls, row: Provider) -> Any:
        return cls(row)

    def close(self) -> None:
        SilentEngine.closed += 1


class ProbingEngine(SilentEngine):
    """Its probe answers as the row's ``answer`` option says (and echoes the key on failure,
    as a careless upstream might)."""

    def probe(self) -> str:
        if self.row.options.get("answer") == "refused":
            raise ProviderError("invalid_api_key", f"Incorrect API key provided: {KEY}.")
        return f"3 models on {self.row.base_url}"


@pytest.fixture(autouse=True)
def engines(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.STUDIO_ENGINES = ENGINES
    settings.DATA_DIR = tmp_path / "data"
    monkeypatch.setenv("PROBE_KEY", KEY)
    SilentEngine.closed = 0


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refusal(*args: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        run(*args)
    return caught.value


def add_probing(name: str = "up", *extra: str) -> str:
    return run(
        "providers", "add", name, "--kind", "probing", "--base-url", "https://up.example/v1",
        "--key-env", "PROBE_KEY", *extra,
    )  # fmt: skip


# providers add


def test_add_creates_the_provider_and_says_what_it_made() -> None:
    out = add_probing("up", "--label", "Upstream", "--webhook-secret-env", "UP_HOOKS",
                      "--option", "answer=ok", "--option", "limit=3",
                      "--option", 'tags=["a"]')  # fmt: skip
    row = Provider.objects.get(name="up")
    assert (row.kind, row.base_url, row.api_key_env, row.api_key_file) == (
        "probing", "https://up.example/v1", "PROBE_KEY", "",
    )  # fmt: skip
    assert (row.label, row.webhook_secret_env) == ("Upstream", "UP_HOOKS")
    assert row.options == {"answer": "ok", "limit": 3, "tags": ["a"]}  # JSON when it parses
    assert out.startswith("Created provider 'up': probing, https://up.example/v1")
    assert "key from $PROBE_KEY (set)" in out and KEY not in out


def test_add_of_an_existing_name_is_refused_without_update() -> None:
    add_probing()
    error = refusal("providers", "add", "up", "--kind", "probing")
    assert "A provider named 'up' already exists; add --update to change it." in str(error)
    assert Provider.objects.get(name="up").base_url == "https://up.example/v1"


def test_add_with_update_changes_only_what_it_is_given_and_is_safe_twice() -> None:
    add_probing("up", "--option", "answer=ok")
    for _ in range(2):
        out = run("providers", "add", "up", "--update", "--key-file", "/etc/studio/up.key",
                  "--option", "region=eu")  # fmt: skip
        assert out.startswith("Updated provider 'up'")
    row = Provider.objects.get(name="up")
    assert (row.base_url, row.api_key_env, row.api_key_file) == (
        "https://up.example/v1", "", "/etc/studio/up.key",  # one key source replaces the other
    )  # fmt: skip
    assert row.options == {"answer": "ok", "region": "eu"}
    assert Provider.objects.filter(name="up").count() == 1


def test_add_refuses_an_unknown_kind_naming_the_known_ones() -> None:
    error = refusal("providers", "add", "up", "--kind", "nonesuch", "--key-env", "PROBE_KEY")
    assert str(error).startswith("--kind: Select a valid choice. nonesuch is not one")
    assert "Known kinds: local, openai_compatible" in str(error) and "probing" in str(error)
    assert error.returncode == 1
    assert not Provider.objects.filter(name="up").exists()


def test_add_refuses_a_kind_without_the_key_source_and_base_url_it_needs() -> None:
    error = refusal("providers", "add", "up", "--kind", "probing")
    assert str(error) == (
        "--base-url: Give the service's base URL, e.g. https://host/v1.\n"
        "--key-env: Name the environment variable (or below, the file) that holds the key."
    )
    assert not Provider.objects.filter(name="up").exists()


def test_add_refuses_a_key_file_in_the_data_dir(settings: Any) -> None:
    key_file = str(Path(settings.DATA_DIR) / "up.key")
    error = refusal("providers", "add", "up", "--kind", "silent", "--key-file", key_file)
    assert str(error) == (
        "--key-file: That is in the studio's data directory (its own secrets); "
        "keep the key elsewhere."
    )
    assert not Provider.objects.filter(name="up").exists()


def test_add_refuses_a_key_pasted_for_a_variable_name() -> None:
    error = refusal("providers", "add", "up", "--kind", "silent", "--key-env", KEY)
    assert str(error).startswith("--key-env: Give the name of the environment variable")
    assert not Provider.objects.filter(name="up").exists()


def test_add_refuses_an_option_without_a_value() -> None:
    error = refusal("providers", "add", "up", "--kind", "silent", "--option", "answer")
    assert str(error) == "--option takes KEY=VALUE, not 'answer'."


# providers list


def test_list_prints_each_provider_with_its_key_source_and_routes() -> None:
    add_probing()
    run("providers", "add", "filed", "--kind", "silent", "--key-file", "/etc/studio/none.key")
    ModelRoute.objects.create(name="up-1", provider=Provider.objects.get(name="up"))
    lines = run("providers", "list").splitlines()
    assert lines[0].split() == ["NAME", "KIND", "BASE", "URL", "KEY", "FROM", "KEY", "ENABLED",
                                "ROUTES"]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["up"] == ["up", "probing", "https://up.example/v1", "$PROBE_KEY", "set", "yes",
                          "1"]  # fmt: skip
    assert rows["filed"] == ["filed", "silent", "—", "/etc/studio/none.key", "missing", "yes", "0"]
    assert rows["local"][1:] == ["local", "—", "—", "not", "needed", "yes", "5"]  # the seed
    assert KEY not in "\n".join(lines)


# providers check


def test_check_says_ok_with_what_the_probe_saw() -> None:
    add_probing()
    assert run("providers", "check", "up") == "ok: 3 models on https://up.example/v1\n"
    assert SilentEngine.closed == 1


def test_check_prints_the_error_without_the_key_and_exits_1() -> None:
    add_probing("up", "--option", "answer=refused")
    error = refusal("providers", "check", "up")
    assert str(error) == "up: invalid_api_key: Incorrect API key provided: [key]."
    assert error.returncode == 1
    assert SilentEngine.closed == 1


def test_check_of_an_engine_without_a_probe_exits_2() -> None:
    run("providers", "add", "quiet", "--kind", "silent", "--key-env", "PROBE_KEY")
    error = refusal("providers", "check", "quiet")
    assert str(error) == "The silent engine cannot be checked (it has no probe)."
    assert error.returncode == 2


def test_check_of_an_unknown_provider_names_the_known_ones() -> None:
    error = refusal("providers", "check", "nowhere")
    assert str(error) == "No provider named 'nowhere' (known: local)."


# routes


def test_routes_set_creates_a_route_and_then_changes_only_what_it_is_given() -> None:
    add_probing()
    out = run("routes", "set", "up-fast", "--provider", "up", "--upstream-model", "fast-2",
              "--price-per-second", "0.0125", "--sizes", "720x1280,1280x720", "--seconds", "8,4",
              "--unlisted")  # fmt: skip
    assert out == (
        "Created route 'up-fast' -> up as fast-2, $0.0125/s, 720x1280, 1280x720, 4 s, 8 s "
        "(unlisted).\n"
    )
    for _ in range(2):  # safe twice
        run("routes", "set", "up-fast", "--disable", "--price-per-second", "$0.02")
    route = ModelRoute.objects.get(name="up-fast")
    assert (route.provider.name, route.upstream_model, route.price_per_second) == (
        "up", "fast-2", Decimal("0.0200"),
    )  # fmt: skip
    assert (route.sizes, route.seconds, route.listed, route.enabled) == (
        ["720x1280", "1280x720"], [4, 8], False, False,
    )  # fmt: skip
    assert route.position == 5  # after the seeded routes
    run("routes", "set", "up-fast", "--enable", "--listed", "--sizes", "")
    route.refresh_from_db()
    assert (route.sizes, route.listed, route.enabled) == ([], True, True)


def test_routes_set_refuses_an_unknown_provider() -> None:
    error = refusal("routes", "set", "up-fast", "--provider", "nowhere")
    assert str(error) == (
        "--provider: no provider named 'nowhere' (known: local); add it with manage.py "
        "providers add."
    )
    assert not ModelRoute.objects.filter(name="up-fast").exists()


def test_routes_set_of_a_new_route_needs_a_provider() -> None:
    error = refusal("routes", "set", "up-fast")
    assert str(error) == "--provider: This field is required."


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("cheap", "--price-per-second: Enter a number."),
        ("-0.10", "--price-per-second: Give a price of zero or more US dollars per second."),
        ("0.00001", "--price-per-second: Ensure that there are no more than 4 decimal places."),
    ],
)
def test_routes_set_refuses_a_bad_price(price: str, message: str) -> None:
    error = refusal("routes", "set", "sora-2", "--price-per-second", price)
    assert str(error) == message
    assert ModelRoute.objects.get(name="sora-2").price_per_second is None


def test_routes_set_refuses_unknown_sizes_and_durations() -> None:
    error = refusal("routes", "set", "sora-2", "--sizes", "99x99", "--seconds", "4,1")
    assert str(error).splitlines() == [
        "--sizes: Unknown size: '99x99'. Known: " + ", ".join(catalog.ALL_SIZES) + ".",
        "--seconds: Unknown duration: 1. Known: "
        + ", ".join(str(s) for s in catalog.ALL_SECONDS)
        + ".",
    ]


def test_routes_list_prints_each_route() -> None:
    add_probing()
    run("routes", "set", "up-fast", "--provider", "up", "--upstream-model", "fast-2",
        "--price-per-second", "0.05", "--disable")  # fmt: skip
    lines = run("routes", "list").splitlines()
    assert lines[0].split() == ["MODEL", "PROVIDER", "UPSTREAM", "MODEL", "PRICE", "ENABLED",
                                "LISTED"]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["up-fast"] == ["up-fast", "up", "fast-2", "$0.05/s", "no", "yes"]
    assert rows["sora-2"] == ["sora-2", "local", "sora-2", "—", "yes", "yes"]


# the admin's Check connection


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))  # type: ignore[arg-type]
    return client


def test_the_provider_page_has_a_check_connection_button(admin_client: Client) -> None:
    add_probing()
    row = Provider.objects.get(name="up")
    page = admin_client.get(reverse("admin:videos_app_provider_change", args=[row.pk]))
    check_url = reverse("admin:videos_app_provider_check", args=[row.pk])
    assert f'action="{check_url}"' in page.content.decode()
    assert "Check connection" in page.content.decode()


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("ok", "up: ok: 3 models on https://up.example/v1"),
        ("refused", "up: invalid_api_key: Incorrect API key provided: [key]."),
    ],
)
def test_check_connection_shows_the_outcome_and_changes_nothing(
    admin_client: Client, answer: str, shown: str
) -> None:
    add_probing("up", "--option", f"answer={answer}")
    row = Provider.objects.get(name="up")
    before = Provider.objects.filter(pk=row.pk).values().get()
    url = reverse("admin:videos_app_provider_check", args=[row.pk])
    response = admin_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "admin:videos_app_provider_change", args=[row.pk]
    )
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [shown]
    assert KEY not in response.content.decode()
    assert Provider.objects.filter(pk=row.pk).values().get() == before
    assert admin_client.get(url).status_code == 405  # a button, not a link


def test_check_connection_says_when_an_engine_cannot_be_checked(admin_client: Client) -> None:
    run("providers", "add", "quiet", "--kind", "silent", "--key-env", "PROBE_KEY")
    row = Provider.objects.get(name="quiet")
    response = admin_client.post(
        reverse("admin:videos_app_provider_changelist"),
        {"action": "check_connection", "_selected_action": [row.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["quiet: The silent engine cannot be checked (it has no probe)."]


def test_check_connection_needs_change_permission(admin_client: Client) -> None:
    add_probing()
    row = Provider.objects.get(name="up")
    viewer = Client()
    viewer.force_login(make_user("viewer", is_staff=True))  # type: ignore[arg-type]
    url = reverse("admin:videos_app_provider_check", args=[row.pk])
    assert viewer.post(url).status_code == 403
    assert SilentEngine.closed == 0


def test_check_connection_of_no_such_provider_is_404(admin_client: Client) -> None:
    for pk in ("999", "not-a-number"):
        url = reverse("admin:videos_app_provider_check", args=[pk])
        assert admin_client.post(url).status_code == 404
