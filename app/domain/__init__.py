"""The domain: events, the rules that decide them, and the state they fold into."""
