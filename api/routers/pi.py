"""HTTP routes of the pi rail."""

from fastapi import APIRouter

router = APIRouter()
