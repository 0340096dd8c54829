"""Property-based tests of option parsing: whatever a user types, the CLI works or says why.

Hypothesis draws option values (numbers, special floats, unicode, junk) and
argument lists. The only acceptable outcomes are exit 0 with a finite,
non-silent output, or exit 2 with one ``audiost: error:`` line, no
traceback and no output or temporary file. Values that would be valid but
slow (many iterations, long durations, huge sizes) are not drawn: the
inputs are tiny so that each example takes a fraction of a second.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import click
import numpy as np
import pytest
import soundfile as sf
from click.testing import Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audiost.cli.options import parse_duration, parse_floats, parse_size
from audiost.config import ImageConfig, parse_layers
from audiost.errors import AudiostError
from audiost.features.vgg import vgg_layer_names

from .conftest import clip, invoke, run_cli

CLI = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
    ],
)
PARSERS = settings(max_examples=300, deadline=None)

pytestmark = pytest.mark.usefixtures("one_thread")

# ------------------------------------------------------------------ strategies

#: Junk that is never a number: it must be refused, never crash.
JUNK = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["", " ", "-", "--", "１", "1,2", "0x10", "1e", "NaN(1)", "∞"]),
).filter(lambda s: not _is_float(s))
#: Anything float() reads, special values included.
FLOAT_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "-nan", "inf", "-inf", "1e309", "-0", "1_0", " 2 "]),
)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def small_or_bad_int(*valid: str) -> st.SearchStrategy[str]:
    """A cheap valid count, or something that is no valid count at all."""
    return st.one_of(
        st.sampled_from(valid),
        st.integers(max_value=-1).map(str),
        JUNK,
    )


def choice_or_junk(*choices: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(choices), st.text(max_size=8))


LAYERS = vgg_layer_names("vgg16")
LAYER_SPEC = st.one_of(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(LAYERS), st.text(max_size=6)),
            st.one_of(st.none(), FLOAT_TEXT, JUNK),
        ),
        max_size=4,
    ).map(
        lambda items: ",".join(
            name if weight is None else f"{name}:{weight}" for name, weight in items
        )
    ),
    st.text(max_size=12),
)

COMMON = {
    "--style-weight": FLOAT_TEXT | JUNK,
    "--content-weight": FLOAT_TEXT | JUNK,
    "--style-loss": choice_or_junk("gram", "meanstd"),
    "--optimizer": choice_or_junk("lbfgs", "adam"),
    "--preset": choice_or_junk("fast", "balanced", "best"),
    "--seed": st.integers(-(2**70), 2**70).map(str) | JUNK,
    "--device": st.one_of(
        st.sampled_from(
            ["cpu", "auto", "cuda", "mps", "cuda:0", "cuda:x", "", "CPU", "meta"]
        ),
        st.text(max_size=8),
    ),
}
AUDIO = {
    **COMMON,
    "--iters": small_or_bad_int("0", "1"),
    "--gl-iters": small_or_bad_int("0", "1", "2"),
    "--wave-iters": small_or_bad_int("0", "1", "2"),
    "--band-envelope-weight": FLOAT_TEXT | JUNK,
    "--pitch-weight": FLOAT_TEXT | JUNK,
    "--temporal-envelope-weight": FLOAT_TEXT | JUNK,
    "--spectral-envelope-weight": FLOAT_TEXT | JUNK,
    "--level-distribution-weight": FLOAT_TEXT | JUNK,
    "--init": choice_or_junk("content", "noise", "style"),
    "--phase-init": choice_or_junk("content", "random", "pghi"),
    "--sample-rate": st.one_of(
        st.sampled_from(["8000", "16000", "22050"]),
        st.integers(-(10**6), 999).map(str),
        JUNK,
    ),
    "--mix": FLOAT_TEXT | JUNK,
    "--loudness": choice_or_junk("lufs", "rms", "none"),
    "--bit-depth": choice_or_junk("16", "24", "32f"),
    "--start": st.sampled_from(["0", "0.1", "0:00.05", "5", "-1", "1:xx"]) | JUNK,
    "--duration": st.sampled_from(["0.2s", "10s", "0", "1m"]) | JUNK,
    "--max-size": st.sampled_from(["32"]),  # an image option: must be refused
}
IMAGE = {
    **COMMON,
    "--iters": small_or_bad_int("0", "1"),
    "--max-size": small_or_bad_int("16", "24", "32") | st.sampled_from(["15", "0"]),
    "--start-size": small_or_bad_int("0", "64") | st.sampled_from(["16", "63"]),
    "--style-scale": FLOAT_TEXT | JUNK,
    "--tv-weight": FLOAT_TEXT | JUNK,
    "--style-weights": st.lists(FLOAT_TEXT | JUNK, max_size=3).map(",".join),
    "--content-layers": LAYER_SPEC,
    "--style-layers": LAYER_SPEC,
    "--pooling": choice_or_junk("max", "avg"),
    "--preserve-color": choice_or_junk("none", "luminance", "histogram"),
    "--init": choice_or_junk("content", "noise", "style"),
    "--gl-iters": st.sampled_from(["1"]),  # an audio option: must be refused
}


def options(table: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[str]]:
    """A random subset of ``table``'s options, each with a drawn value."""
    return st.dictionaries(st.sampled_from(sorted(table)), st.just(None)).flatmap(
        lambda chosen: st.tuples(*(table[name] for name in chosen)).map(
            lambda values: [
                part
                for name, value in zip(chosen, values, strict=True)
                for part in (f"{name}={value}",)
            ]
        )
    )


# --------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """0.3 s clips and 24x24 pictures cut from the corpus."""
    from PIL import Image

    from .conftest import CORPUS

    folder = tmp_path_factory.mktemp("tiny")
    files = {}
    for role, name in [
        ("content", "speech_pocketsphinx_forever_16k_mono.flac"),
        ("style", "music_sonicpi_tabla_loop_44k_stereo.flac"),
    ]:
        wave, sr = clip(name, 0.3, 0.5)
        files[role] = folder / f"{role}.wav"
        sf.write(files[role], wave.T, sr)
    for role, name in [
        ("photo", "photo_chelsea_cat_451x300.png"),
        ("painting", "texture_gravel_gray_512x512.png"),
    ]:
        with Image.open(CORPUS / name) as image:
            files[role] = folder / f"{role}.png"
            image.convert("RGB").resize((24, 24)).save(files[role])
    return files


def assert_allowed_outcome(result: Result, workdir: Path, out: Path | None) -> None:
    """Exit 0 and a good output, or exit 2, one line, no traceback and nothing written."""
    assert isinstance(result.exception, (SystemExit, type(None))), repr(
        result.exception
    )
    if result.exit_code == 0:
        if out is None:
            return
        if out.suffix == ".wav":
            audio, _ = sf.read(out, always_2d=True)
            assert np.isfinite(audio).all() and np.abs(audio).max() > 0
        else:
            from PIL import Image

            with Image.open(out) as image:
                assert image.mode in ("RGB", "RGBA") and min(image.size) >= 16
        return
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("audiost: error: "), result.stderr
    assert list(workdir.iterdir()) == [], "output or temporary file left behind"


def fresh_dir(base: Path) -> Path:
    """An empty folder per example (hypothesis reuses the test's tmp_path)."""
    index = len(list(base.iterdir()))
    folder = base / f"run{index}"
    folder.mkdir()
    return folder


# ------------------------------------------------------------ parsing helpers


@PARSERS
@given(st.text(max_size=20))
def test_parse_duration_answers_or_says_why(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except AudiostError as exc:
        assert "\n" not in str(exc) and repr(text) in str(exc)
        return
    assert math.isfinite(seconds) and seconds > 0


@PARSERS
@given(
    st.integers(0, 10**6),
    st.integers(0, 10**4),
    st.integers(0, 999),
    st.sampled_from(["", " "]),
)
def test_parse_duration_reads_what_it_documents(
    minutes: int, seconds: int, millis: int, space: str
) -> None:
    expected = minutes * 60 + seconds + millis / 1000
    for text in (f"{minutes}m{space}{seconds}.{millis:03d}s", f"{minutes}m"):
        value = expected if text.endswith("s") else minutes * 60.0
        if value > 0:
            assert parse_duration(text) == pytest.approx(value)
        else:
            with pytest.raises(AudiostError):
                parse_duration(text)


@pytest.mark.parametrize(
    "text",
    [" " * 5000 + "x", "1" + " " * 5000 + "x", "1m" + " " * 5000 + "1x", "9" * 400],
)
def test_parse_duration_is_quick_on_long_input(text: str) -> None:
    # Its regular expression once backtracked for minutes on a run of spaces.
    started = time.perf_counter()
    with pytest.raises(AudiostError):
        parse_duration(text)
    assert time.perf_counter() - started < 0.5


@PARSERS
@given(st.text(max_size=20))
def test_parse_size_answers_or_says_why(text: str) -> None:
    try:
        width, height = parse_size(text)
    except AudiostError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(width, int) and isinstance(height, int)
    assert width >= 0 and height >= 0


@PARSERS
@given(st.integers(0, 10**9), st.integers(0, 10**9), st.sampled_from("xX×"))
def test_parse_size_reads_what_it_documents(width: int, height: int, sep: str) -> None:
    assert parse_size(f" {width} {sep} {height} ") == (width, height)


@PARSERS
@given(
    st.text(max_size=20) | st.lists(FLOAT_TEXT, min_size=1, max_size=4).map(",".join)
)
def test_floats_callback_gives_finite_numbers_or_a_usage_error(text: str) -> None:
    try:
        values = parse_floats(None, None, text)  # type: ignore[arg-type]
    except click.BadParameter as exc:
        assert "\n" not in exc.format_message()
        return
    # Weights: NaN or infinity would poison every loss they scale.
    assert values and all(math.isfinite(v) for v in values), values


@PARSERS
@given(LAYER_SPEC, st.sampled_from(["content", "style"]))
def test_layer_spec_parses_to_usable_layers_or_says_why(spec: str, kind: str) -> None:
    try:
        names, weights = parse_layers(spec, (), kind)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert names and len(set(names)) == len(names)
    assert all(name == name.strip() and name for name in names)
    if weights:
        assert len(weights) == len(names)
        assert all(math.isfinite(w) and w >= 0 for w in weights), weights
        assert sum(weights) > 0


@PARSERS
@given(st.lists(st.sampled_from(LAYERS), min_size=1, max_size=5, unique=True))
def test_layer_spec_round_trips(names: list[str]) -> None:
    spec = ",".join(f"{name}:{i + 1}" for i, name in enumerate(names))
    config = ImageConfig(net="vgg16", style_layers=spec, weights="random")
    assert config.style_layers == tuple(names)
    assert config.style_layer_weights == tuple(float(i + 1) for i in range(len(names)))


TOML_VALUE = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-3, 3), max_size=3),
)
RECIPE_KEYS = st.sampled_from(
    [
        "preset",
        "template",
        "iters",
        "gl_iters",
        "style_weight",
        "max_size",
        "style_layers",
        "style_weights",
        "kernel_widths",
        "n_filters",
        "device",
        "sample_rate",
        "start_size",
        "unknown_key",
    ]
)
RECIPES = st.dictionaries(
    RECIPE_KEYS,
    TOML_VALUE,
    max_size=4,
).flatmap(
    lambda top: st.dictionaries(
        st.sampled_from(["audio", "image"]),
        st.dictionaries(RECIPE_KEYS, TOML_VALUE, max_size=3) | TOML_VALUE,
        max_size=2,
    ).map(lambda tables: {**top, **tables})
)


@PARSERS
@given(RECIPES)
def test_any_recipe_resolves_or_says_why(recipe: dict) -> None:
    from audiost.batch.plan import check_template
    from audiost.batch.recipe import resolve_recipe

    try:
        resolved = resolve_recipe(recipe, source="r.toml")
        check_template(resolved.template)
    except AudiostError as exc:
        assert "\n" not in str(exc)
        return
    for config in (resolved.audio, resolved.image):
        for name in ("style_weight", "content_weight"):
            assert math.isfinite(getattr(config, name)), (name, config)
        assert config.iters >= 0


@PARSERS
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["{content}", "{style}", "{ext}", "{kind}", "/", "..", "."]
            ),
            st.text(max_size=4),
        ),
        max_size=6,
    ).map("".join)
)
def test_any_template_is_accepted_or_refused_in_one_line(template: str) -> None:
    from audiost.batch.plan import check_template

    try:
        check_template(template)
    except AudiostError as exc:
        assert "\n" not in str(exc)
        return
    assert "{content}" in template or "{content!" in template or "{content:" in template
    assert not Path(template).is_absolute() and ".." not in Path(template).parts


# ------------------------------------------------------------- whole commands


@CLI
@given(options(AUDIO), st.booleans(), st.booleans())
def test_transfer_audio_with_random_options(
    tiny: dict[str, Path], tmp_path: Path, opts: list[str], mono: bool, loud: bool
) -> None:
    work = fresh_dir(tmp_path)
    out = work / "out.wav"
    flags = ["--mono"] * mono + ["--loudness=none"] * loud
    defaults = ["--iters=1", "--gl-iters=1", "--preset=fast"]
    args = ["transfer", str(tiny["content"]), str(tiny["style"]), "-o", str(out)]
    result = invoke(*args, *defaults, *opts, *flags, "-q")
    assert_allowed_outcome(result, work, out)


@CLI
@given(options(IMAGE))
def test_transfer_image_with_random_options(
    tiny: dict[str, Path], tmp_path: Path, opts: list[str]
) -> None:
    work = fresh_dir(tmp_path)
    out = work / "out.png"
    defaults = ["--iters=1", "--max-size=24", "--net=vgg16", "--weights=random"]
    args = ["transfer", str(tiny["photo"]), str(tiny["painting"]), "-o", str(out)]
    result = invoke(*args, *defaults, *opts, "-q")
    assert_allowed_outcome(result, work, out)


def _cheap_duration(text: str) -> bool:
    try:
        return parse_duration(text) <= 1.0
    except AudiostError:
        return True


def _cheap_size(text: str) -> bool:
    try:
        width, height = parse_size(text)
    except AudiostError:
        return True
    return width * height <= 48 * 48 or min(width, height) < 16


@CLI
@given(
    st.one_of(
        st.sampled_from(["0.3s", "0.5", "0m0.4s", " 1 s ", "0", "0s", "1ms", "-1s"]),
        st.text(max_size=8),
    ).filter(_cheap_duration),
    st.one_of(
        st.sampled_from(["24x24", "16X40", "32×16", "15x15", "0x0", "x", "24x"]),
        st.text(max_size=8),
    ).filter(_cheap_size),
    st.sampled_from(["audio", "image"]),
)
def test_texture_with_random_duration_and_size(
    tiny: dict[str, Path], tmp_path: Path, duration: str, size: str, kind: str
) -> None:
    work = fresh_dir(tmp_path)
    if kind == "audio":
        out = work / "out.wav"
        args = ["texture", str(tiny["style"]), "--duration", duration]
        args += ["--iters=1", "--gl-iters=1", "--preset=fast"]
    else:
        out = work / "out.png"
        args = ["texture", str(tiny["painting"]), "--size", size]
        args += ["--iters=1", "--net=vgg16", "--weights=random"]
    result = invoke(*args, "-o", str(out), "-q")
    assert_allowed_outcome(result, work, out)


ARGUMENT = st.one_of(
    st.sampled_from(
        [
            "transfer",
            "texture",
            "evaluate",
            "batch",
            "-o",
            "--output",
            "-q",
            "--iters",
            "--iters=0",
            "--",
            "-",
            "--help-me",
            "--duration",
            "--size",
            "--preset",
            "CONTENT",
            "STYLE",
            "OUT",
        ]
    ),
    st.text(max_size=6),
)


@CLI
@given(st.lists(ARGUMENT, max_size=6))
# Control characters in a file name must not split the one error line.
@example(argv=["texture", "\r"])
@example(argv=["transfer", "a\nb.wav", "STYLE"])
@example(argv=["transfer", "CONTENT", "\x1b[2J\u2028"])
def test_random_argument_lists(
    tiny: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list
) -> None:
    work = fresh_dir(tmp_path)
    monkeypatch.chdir(work)
    files = {
        "CONTENT": str(tiny["content"]),
        "STYLE": str(tiny["style"]),
        "OUT": "out.wav",
    }
    # Cheap or refused: every run is capped at 0 optimiser iterations.
    argv = [files.get(a, a) for a in argv]
    if argv and argv[0] in ("transfer", "texture"):
        argv += ["--iters=0", "--gl-iters=1", "--preset=fast", "--duration=0.3s"][
            : 3 + (argv[0] == "texture")
        ]
    if argv and argv[0] == "batch":
        argv = argv[:1]  # batch with random folders is exercised elsewhere
    result = invoke(*argv)
    assert isinstance(result.exception, (SystemExit, type(None))), repr(
        result.exception
    )
    if result.exit_code not in (0, 1) and argv:  # a bare "audiost" shows its help
        assert result.exit_code == 2, (argv, result.exit_code, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("audiost: error: "), (
            argv,
            result.stderr,
        )
        assert [p.name for p in work.iterdir()] == [], argv


@settings(CLI, max_examples=8)
@given(RECIPES, st.one_of(st.none(), st.text(max_size=10)))
def test_batch_with_random_recipe_and_template(
    tiny: dict[str, Path], tmp_path: Path, recipe: dict, template: str | None
) -> None:
    import tomli_w

    work = fresh_dir(tmp_path)
    inputs = work / "inputs"  # empty: only the recipe's reading is at stake
    inputs.mkdir()
    path = work / "recipe.toml"
    try:
        path.write_text(tomli_w.dumps(recipe))
    except (TypeError, ValueError):  # NaN and friends: write junk TOML instead
        path.write_text(f"style_weight = {recipe!r}\n")
    outdir = work / "out"
    args = ["batch", str(inputs), "-o", str(outdir), "--recipe", str(path), "-q"]
    if template is not None:
        args += ["--template", template]
    result = invoke(*args)
    assert isinstance(result.exception, (SystemExit, type(None))), repr(
        result.exception
    )
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("audiost: error: "), (
            result.stderr
        )
        assert not outdir.exists() or list(outdir.iterdir()) == []
    else:
        assert result.exit_code in (0, 1), result.stderr


# ------------------------------------------------ the examples hypothesis found


@pytest.mark.parametrize(
    "option", ["--style-weight=nan", "--content-weight=inf", "--tv-weight=nan"]
)
def test_non_finite_weights_are_refused(
    option: str, tiny: dict[str, Path], tmp_path: Path
) -> None:
    work = fresh_dir(tmp_path)
    out = work / "out.png"
    args = ["transfer", str(tiny["photo"]), str(tiny["painting"]), "-o", str(out)]
    result = invoke(*args, "--iters=1", "--net=vgg16", "--weights=random", option)
    assert result.exit_code == 2, result.stderr
    assert_allowed_outcome(result, work, out)


@pytest.mark.parametrize("spec", ["conv1_1:inf", "conv1_1:1,conv2_1:inf"])
def test_infinite_layer_weights_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        ImageConfig(style_layers=spec, weights="random")


@pytest.mark.parametrize("duration", ["100000m", "99999999999999999999999m"])
def test_absurd_texture_duration_is_refused(
    duration: str, tiny: dict[str, Path], tmp_path: Path
) -> None:
    work = fresh_dir(tmp_path)
    out = work / "out.wav"
    args = ["texture", str(tiny["style"]), "--duration", duration, "-o", str(out)]
    result = invoke(*args, "--iters=0", "--gl-iters=0", "-q")
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert_allowed_outcome(result, work, out)


def test_absurd_sample_rate_option_is_refused(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    # A separate process: resampling to 4 GHz crashed the interpreter (SIGSEGV).
    work = fresh_dir(tmp_path)
    result = run_cli(
        "transfer",
        str(tiny["content"]),
        str(tiny["style"]),
        "-o",
        str(work / "out.wav"),
        "--sample-rate",
        "4000000000",
        "--iters=0",
        "--gl-iters=1",
        "-q",
        cwd=work,
        timeout=20,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(work.iterdir()) == []
