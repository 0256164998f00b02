"""Frames (WGS84 geodetic, ECEF, ENU, AER), geodesics and areas."""
