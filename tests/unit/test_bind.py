"""Binding parameter values into commands: the guard judges a cell as it will run."""

from __future__ import annotations

import subprocess

import pytest

from reifier.core.bind import assigned, bind, references
from reifier.core.guard import evaluate

#: the issue's examples: approved text, harmless until a value makes it destructive
HOSTILE = [
    ('rm -rf -- "${DIR:?}"', {"DIR": "/etc"}, "rm_catastrophic"),
    ('dd if=/dev/zero of="$DEV" bs=1M', {"DEV": "/dev/sda"}, "dd_device"),
    ('terraform "$ACTION" -auto-approve', {"ACTION": "destroy"}, "terraform_destroy"),
    ('kubectl delete "$KIND" "$NAME"', {"KIND": "ns", "NAME": "prod"}, "kubectl_delete"),
    ('psql -c "$SQL"', {"SQL": "DROP DATABASE prod"}, "sql_destructive"),
    ('find "$DIR" -delete', {"DIR": "/etc"}, "find_delete"),
    ('chmod -R 000 "$DIR"', {"DIR": "/etc"}, "chmod_chown_system"),
    ("rm -rf $TARGET", {"TARGET": "-rf /"}, "rm_catastrophic"),  # unquoted: split like bash
    ("$CMD /", {"CMD": "rm -rf"}, "rm_catastrophic"),  # a value in command position
    ('rm -rf "$DIR"/*', {"DIR": ""}, "rm_catastrophic"),
]
SAFE = [
    ('rm -rf -- "${DIR:?}"', {"DIR": "/tmp/build"}),
    ('terraform "$ACTION" -auto-approve', {"ACTION": "plan"}),
    ('kubectl delete "$KIND" "$NAME"', {"KIND": "pod", "NAME": "web-0"}),
    ('psql -c "$SQL"', {"SQL": "SELECT 1"}),
    ('chmod -R 000 "$DIR"', {"DIR": "/tmp/x/y"}),
]


@pytest.mark.parametrize(("command", "values", "rule"), HOSTILE)
def test_a_value_that_makes_a_command_destructive_is_refused(
        command: str, values: dict[str, str], rule: str) -> None:
    assert evaluate(command).allowed or evaluate(command).blocking[0].rule != rule
    verdict = evaluate(command, values=values)
    assert not verdict.allowed
    assert rule in {f.rule for f in verdict.blocking}
    name = next(iter(values))
    assert f"{name}={values[name]!r}" in verdict.reason


@pytest.mark.parametrize(("command", "values"), SAFE)
def test_the_same_command_with_a_harmless_value_is_allowed(
        command: str, values: dict[str, str]) -> None:
    assert evaluate(command, values=values).allowed


@pytest.mark.parametrize("value", ["$(rm -rf /)", "`reboot`", "a; rm -rf /", "'\"\\", "~",
                                   "{a,b}", "x\ny", "*", "-rf /"])
@pytest.mark.parametrize("template", ['echo "$V"', "echo $V", "X=$V", "cat <<EOF\n$V\nEOF",
                                      'echo "pre-${V}-post"'])
def test_bound_text_means_what_bash_would_do_with_the_value(template: str, value: str) -> None:
    """bash itself prints the same words for the bound text as for the variable."""
    bound = bind(template, {"V": value})
    assert bound.used == ("V",)
    script = "set -f; " if "$V" in template and '"' not in template else ""
    real = subprocess.run(["bash", "-c", f"{script}{_show(template)}"], env={"V": value},
                          capture_output=True, text=True, check=True).stdout
    fake = subprocess.run(["bash", "-c", f"{script}{_show(bound.text)}"], env={},
                          capture_output=True, text=True, check=True).stdout
    assert fake == real


def _show(command: str) -> str:
    """Make a command print its words (echo -> printf one per line; X= -> print X)."""
    if command.startswith("X="):
        return f'{command}; printf "[%s]\\n" "$X"'
    return command.replace("echo ", 'printf "[%s]\\n" ', 1)


def test_opaque_forms_and_self_assigned_names_stay_as_written() -> None:
    assert bind("rm -rf ${DIR%/}", {"DIR": "/etc"}).opaque == ("DIR",)
    assert bind("rm -rf ${DIR:-/tmp}", {"DIR": ""}).text == "rm -rf ${DIR:-/tmp}"
    assert bind('DIR=/tmp/x; rm -rf "$DIR"', {"DIR": "/etc"}).used == ()
    assert bind("echo ${#NAME}", {"NAME": "abcd"}).text == "echo 4"


def test_references_and_assignments() -> None:
    assert references('rm "$A" ${B:?} $(echo $C) \'$D\'') == {"A", "B", "C"}
    assert assigned("for f in a; do :; done; read -r X; export Z=1; Y=2 cmd") == {
        "f", "X", "Z", "Y"}
    assert references("ls -la") == frozenset()
