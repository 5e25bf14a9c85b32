"""HTTP routes of the qris rail."""

from fastapi import APIRouter

router = APIRouter()
