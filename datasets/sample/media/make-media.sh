#!/bin/sh
# Made once (ffmpeg 5.1, Debian bookworm) and committed: regenerating with another ffmpeg build
# gives other bytes, and the sample's outputs are pinned to these. Run from this folder.
set -e
F="ffmpeg -hide_banner -loglevel error -y"
X264="-c:v libx264 -preset veryslow -crf 30 -pix_fmt yuv420p -bitexact -map_metadata -1"
# A red square crossing a dark blue field left to right, 3 s at 12 fps.
$F -f lavfi -i "color=c=navy:s=320x240:r=12:d=3" -vf "drawbox=x='t*80':y=80:w=80:h=80:color=red:t=fill" $X264 red-square.mp4
# A yellow disc-ish box falling on green, 3 s.
$F -f lavfi -i "color=c=darkgreen:s=320x240:r=12:d=3" -vf "drawbox=x=130:y='t*60':w=60:h=60:color=yellow:t=fill" $X264 yellow-fall.mp4
# The SMPTE colour bars scrolling sideways, 4 s.
$F -f lavfi -i "smptebars=s=320x240:r=12:d=4" -vf "scroll=h=0.01" $X264 bars-scroll.mp4
# A colour gradient that cycles its hues, 3 s.
$F -f lavfi -i "gradients=s=320x240:r=12:d=3:speed=0.05:c0=orange:c1=purple" $X264 gradient.mp4
# Stills: a white square on black, concentric test pattern, a magenta field with a cyan bar.
$F -f lavfi -i "color=c=black:s=300x300" -vf "drawbox=x=100:y=100:w=100:h=100:color=white:t=fill" -frames:v 1 white-square.png
$F -f lavfi -i "testsrc2=s=320x240" -frames:v 1 test-pattern.png
$F -f lavfi -i "color=c=magenta:s=320x256" -vf "drawbox=x=0:y=110:w=320:h=36:color=cyan:t=fill" -frames:v 1 -q:v 3 cyan-bar.jpg
