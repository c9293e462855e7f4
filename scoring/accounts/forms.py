"""Forms of the accounts area: they check shape only; the services own the rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from scoring.services.accounts.users import MAX_PASSWORD, MIN_PASSWORD

try:  # WTForms 3.3 prefers SelectChoice objects to (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms

    def SelectChoice(value, label):  # noqa: N802 - stands in for the class
        """A (value, label) tuple, the choice older WTForms takes."""
        return (value, label)


def choice(value: int | str, label: str):
    """A select choice for ``value`` with ``label``, as this WTForms version takes it."""
    return SelectChoice(value, label)


def choice_values(choices) -> set:
    """The values of a list of choices (SelectChoice objects or (value, label) tuples)."""
    return {getattr(c, "value", None) if not isinstance(c, tuple) else c[0] for c in choices or []}


def _int_or_none(value):
    """A choice's value as an int; the empty placeholder ("Choose …") is None."""
    return None if value in ("", None) else int(value)


class PickField(SelectField):
    """A select whose every refusal (not a number, not offered, missing) reads ``message``."""

    def __init__(
        self, label=None, validators=None, message="Choose one of the options listed.", **kwargs
    ):
        super().__init__(label, validators, coerce=_int_or_none, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        """Take the posted value as an int; anything else becomes None (refused by pre_validate)."""
        if not valuelist:
            return
        try:
            self.data = int(valuelist[0])
        except (TypeError, ValueError):
            self.data = None

    def pre_validate(self, form) -> None:
        """Refuse a value that is not one of the choices offered, with ``message``."""
        if self.data not in choice_values(self.choices):
            raise ValidationError(self.message)


def no_control_chars(form, field) -> None:
    """Invisible control characters (NUL and the like) are refused, not stored or queried."""
    if isinstance(field.data, str) and any(ord(c) < 32 and c not in "\n\t" for c in field.data):
        raise ValidationError("Remove the invisible control characters from this text.")


ROLE_CHOICES = [
    choice("writer", "Writer: edits drafts"),
    choice("submitter", "Submitter: edits, submits and withdraws; manages people"),
]


class InviteForm(FlaskForm):
    """Invite a new user (email, name, district) from the accounts invitation page."""

    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter the person's email address."),
            Length(max=254),
            Email("Enter a full email address, like name@district.org."),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    name = StringField(
        "Name",
        validators=[DataRequired("Enter the person's name."), Length(max=200), no_control_chars],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    district = PickField("District", message="Choose the district from the list.")
    role = SelectField(
        "Role in the district",
        choices=ROLE_CHOICES,
        default="submitter",
        validators=[DataRequired("Choose writer or submitter.")],
    )


class ForgotForm(FlaskForm):
    """Ask for a password-reset link by email (the forgotten-password page)."""

    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter the email address of your account."),
            Length(max=254, message="That address is too long."),
            no_control_chars,
        ],
    )


class PasswordForm(FlaskForm):
    """Choose a new password, typed twice (invitation or reset link page)."""

    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a password."),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=f"Use {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Type it again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords are not the same."),
        ],
    )


class PersonInviteForm(FlaskForm):
    """Invite a person to a district with a role (the People page)."""

    email = InviteForm.email
    name = InviteForm.name
    role = SelectField(
        "Role in the district",
        choices=ROLE_CHOICES,
        default="writer",
        validators=[DataRequired("Choose writer or submitter.")],
    )


class RoleForm(FlaskForm):
    """Change a person's role in their district (the People page)."""

    role = SelectField("Role", choices=ROLE_CHOICES)


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token and a ticked box (withdraw, remove, deactivate)."""

    confirm = BooleanField("Yes, I am sure")
