"""Helpers shared by test packages: test images and the independent clients that check them."""
