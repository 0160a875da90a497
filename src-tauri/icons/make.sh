#!/usr/bin/env bash
# Draws Utter's icons with ImageMagick (apt install imagemagick): the app icon (a voice's level
# bars on an indigo tile) and the tray icons for each state. The PNGs are committed; run this
# only to change them. macOS gets template tray icons (black + alpha; the system tints them).
set -euo pipefail
cd "$(dirname "$0")"

# bars X W H... : rounded bars centred on a HxH canvas, heights as fractions of the canvas.
bars() { # size colour opacity out [extra draw args...]
  local size=$1 colour=$2 out=$3; shift 3
  local n=5 heights=(0.30 0.52 0.70 0.44 0.26)
  local w gap total x0 draw="" i h x y r
  w=$(awk "BEGIN{print $size*0.086}"); gap=$(awk "BEGIN{print $size*0.055}")
  total=$(awk "BEGIN{print $n*$w+($n-1)*$gap}"); x0=$(awk "BEGIN{print ($size-$total)/2}")
  r=$(awk "BEGIN{print $w/2}")
  for ((i = 0; i < n; i++)); do
    h=$(awk "BEGIN{print $size*${heights[$i]}}")
    x=$(awk "BEGIN{print $x0+$i*($w+$gap)}"); y=$(awk "BEGIN{print ($size-$h)/2}")
    draw+="roundrectangle $x,$y $(awk "BEGIN{print $x+$w}"),$(awk "BEGIN{print $y+$h}") $r,$r "
  done
  convert -size "${size}x${size}" xc:none -fill "$colour" -draw "$draw" "$@" "PNG32:$out"
}

# App icon: indigo tile, white bars.
convert -size 512x512 gradient:'#6366F1-#7C3AED' \
  \( -size 512x512 xc:none -fill white -draw 'roundrectangle 16,16 496,496 112,112' \) \
  -alpha off -compose CopyOpacity -composite PNG32:tile.png
bars 512 white bars.png
convert tile.png bars.png -compose over -composite PNG32:icon.png
rm tile.png bars.png
for s in 32 128 256; do convert icon.png -resize ${s}x${s} PNG32:$s.png; done
mv 32.png 32x32.png; mv 128.png 128x128.png; mv 256.png 128x128@2x.png

# Tray (Linux and others): white bars, state shown by colour and a dot.
bars 64 white tray.png
bars 64 '#4ADE80' tray-speaking.png
bars 64 'rgba(255,255,255,0.45)' tray-loading.png
bars 64 white tray-error.png -fill '#EF4444' -draw 'circle 50,14 50,4'
# macOS template images (44 px = 22 pt @2x): black with alpha.
bars 44 black tray-template.png
bars 44 'rgba(0,0,0,0.4)' tray-template-loading.png
bars 44 black tray-template-speaking.png -fill black -draw 'circle 39,5 39,1'
bars 44 black tray-template-error.png -fill none -stroke black -strokewidth 3 -draw 'line 4,40 40,4'
