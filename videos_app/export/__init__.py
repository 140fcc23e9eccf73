"""Export: a selection or a filtered gallery as one zip, streamed in constant memory."""
