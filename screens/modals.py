"""Reusable modal screens: a yes/no confirmation and a form that submits to a service.

Everything shown here that came from a user or a server (names, messages, errors) is rendered
with markup off, so a server called ``[bold]x`` reads literally.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker

from screens.background import route_result, run_blocking
from screens.footer import OtterFooter

ResultT = TypeVar("ResultT")


class ConfirmModal(ModalScreen[bool]):
    """Ask before doing something that cannot be undone. ``y`` confirms; ``n``/Esc do not.

    The focus starts on "Cancel", so a stray Enter never destroys anything.
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel", show=False),
    ]

    def __init__(
        self, question: str, *, confirm_label: str = "Delete", deny_label: str = "Cancel"
    ) -> None:
        super().__init__()
        self.question = question
        """The question, shown literally (markup off)."""
        self.confirm_label = confirm_label
        """The label of the button that says yes."""
        self.deny_label = deny_label
        """The label of the button that says no."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(classes="dialog--buttons"):
                yield Button(f"{self.confirm_label} (y)", variant="error", id="confirm-yes")
                yield Button(f"{self.deny_label} (n)", id="confirm-no")
        yield OtterFooter()

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)


@dataclass(frozen=True)
class FormField:
    """One labelled field of a :class:`FormModal`."""

    name: str
    """Key of the value in the dict handed to ``submit`` (and the widget id, ``field-<name>``)."""
    label: str
    """Shown left of the field."""
    value: str = ""
    """The initial value."""
    placeholder: str = ""
    """Shown in an empty text field."""
    choices: tuple[str, ...] = ()
    """When set, the field is a drop-down of these values instead of free text."""
    hint: str = ""
    """A line of help under the field (for example the names that exist)."""
    read_only: bool = False
    """Shown but not editable (the name of a server being edited)."""
    password: bool = False
    """Typed characters are hidden (a sensitive variable)."""


class FormModal(ModalScreen[ResultT | None], Generic[ResultT]):
    """A form whose values go to ``submit`` (a service call) in a thread worker.

    On success the modal is dismissed with what ``submit`` returned. On failure the one-line
    error is shown under the fields and the form stays open with what was typed. Esc cancels
    (dismissed with None). Enter in any text field submits, and so does Enter on a closed
    drop-down (Space opens it). With ``preview``, a pane under the fields shows what the values
    would do (a schedule's next firings), recomputed as they are typed.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        fields: Sequence[FormField],
        submit: Callable[[Mapping[str, str]], ResultT],
        *,
        submit_label: str = "Save",
        preview: Callable[[Mapping[str, str]], str] | None = None,
    ) -> None:
        super().__init__()
        self.form_title = title
        """The heading of the dialog."""
        self.fields = tuple(fields)
        """The fields, in order."""
        self.submit = submit
        """Called with ``{field name: value}`` off the UI thread; raises OtterError to refuse."""
        self.submit_label = submit_label
        """The label of the button that submits."""
        self.preview = preview
        """Renders the values as text (off markup), on the UI thread: keep it quick."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form"):
            yield Label(self.form_title, classes="dialog--title", markup=False)
            body = VerticalScroll(classes="form--body")
            body.can_focus = False  # Tab moves between fields, not onto the scroll area
            with body, Grid(classes="form--fields"):
                for field in self.fields:
                    yield Label(field.label, classes="form--label", markup=False)
                    yield self._field_widget(field)
                    if field.hint:
                        yield Static("")
                        yield Static(field.hint, classes="form--hint", markup=False)
            if self.preview is not None:
                yield Static("", id="form-preview", markup=False)
            yield Static("", id="form-error", markup=False)
            with Horizontal(classes="dialog--buttons"):
                yield Button(self.submit_label, variant="primary", id="form-submit")
                yield Button("Cancel", id="form-cancel")
        yield OtterFooter()

    def on_mount(self) -> None:
        editable = [w for w in self.query(".form--fields > *") if w.focusable]
        if editable:
            editable[0].focus()
        self._show_preview()

    @on(Input.Changed)
    @on(Select.Changed)
    def _show_preview(self) -> None:
        if self.preview is not None and self.is_mounted:
            self.query_one("#form-preview", Static).update(self.preview(self.values()))

    def _field_widget(self, field: FormField) -> Widget:
        widget_id = f"field-{field.name}"
        if field.choices:
            options = [(choice, choice) for choice in field.choices]
            value = field.value if field.value in field.choices else field.choices[0]
            return Select(options, value=value, allow_blank=False, id=widget_id, compact=True)
        return Input(
            field.value,
            placeholder=field.placeholder,
            id=widget_id,
            disabled=field.read_only,
            password=field.password,
            compact=True,
        )

    def values(self) -> dict[str, str]:
        """What the form holds now, by field name."""
        out: dict[str, str] = {}
        for field in self.fields:
            widget = self.query_one(f"#field-{field.name}")
            value: Any = widget.value if isinstance(widget, Input | Select) else ""
            out[field.name] = str(value).strip()
        return out

    def show_error(self, line: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(line)
        error.set_class(bool(line), "-visible")

    def on_key(self, event: events.Key) -> None:
        focused = self.focused
        if event.key == "enter" and isinstance(focused, Select) and not focused.expanded:
            event.stop()
            event.prevent_default()
            self._submit()

    @on(Input.Submitted)
    @on(Button.Pressed, "#form-submit")
    def _submit(self) -> None:
        button = self.query_one("#form-submit", Button)
        if button.disabled:
            return
        button.disabled = True
        self.show_error("")
        values = self.values()
        run_blocking(self, lambda: self.submit(values), group="form-submit")

    @on(Button.Pressed, "#form-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Worker.StateChanged)
    def _submitted(self, event: Worker.StateChanged) -> None:
        route_result(event, {"form-submit": self._done}, self._failed)

    def _done(self, result: ResultT) -> None:
        self.dismiss(result)

    def _failed(self, line: str) -> None:
        self.query_one("#form-submit", Button).disabled = False
        self.show_error(line)
