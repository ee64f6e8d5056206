"""Running the tools robots call: the native ones here, over what this service owns."""
