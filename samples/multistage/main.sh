#!/bin/sh
echo "app @VERSION@ says hello, ${1:-nobody}"
