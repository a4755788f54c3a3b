#!/bin/sh
echo hello > /etc/hello
