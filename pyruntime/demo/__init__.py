"""``agentrpc demo``: a scripted group chat (writer, editor, manager, UI) across worker processes."""
