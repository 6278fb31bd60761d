//go:build screenshots && linux && cgo && !ci && !android && !wasm

package ui

/*
#cgo LDFLAGS: -lX11
#include <stdlib.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>

// grab copies a window's pixels as RGBA into *out (malloc'd; the caller
// frees it) and returns 0, or returns -1.
static int grab(unsigned long win, int *w, int *h, unsigned char **out) {
	Display *d = XOpenDisplay(NULL);
	if (!d) return -1;
	XWindowAttributes a;
	if (!XGetWindowAttributes(d, (Window)win, &a) || a.map_state != IsViewable) { XCloseDisplay(d); return -1; }
	XImage *img = XGetImage(d, (Window)win, 0, 0, a.width, a.height, AllPlanes, ZPixmap);
	if (!img) { XCloseDisplay(d); return -1; }
	unsigned char *p = malloc((size_t)a.width * a.height * 4);
	if (!p) { XDestroyImage(img); XCloseDisplay(d); return -1; }
	unsigned long rm = img->red_mask, gm = img->green_mask, bm = img->blue_mask;
	int rs = 0, gs = 0, bs = 0;
	while (rm && !(rm & 1)) { rm >>= 1; rs++; }
	while (gm && !(gm & 1)) { gm >>= 1; gs++; }
	while (bm && !(bm & 1)) { bm >>= 1; bs++; }
	for (int y = 0; y < a.height; y++) {
		for (int x = 0; x < a.width; x++) {
			unsigned long px = XGetPixel(img, x, y);
			unsigned char *q = p + ((size_t)y * a.width + x) * 4;
			q[0] = rm ? (unsigned char)(((px >> rs) & rm) * 255 / rm) : 0;
			q[1] = gm ? (unsigned char)(((px >> gs) & gm) * 255 / gm) : 0;
			q[2] = bm ? (unsigned char)(((px >> bs) & bm) * 255 / bm) : 0;
			q[3] = 255;
		}
	}
	*w = a.width; *h = a.height; *out = p;
	XDestroyImage(img);
	XCloseDisplay(d);
	return 0;
}
*/
import "C"

import (
	"image"
	"unsafe"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
)

// platformCapture reads a window's pixels from the X server. Canvas.Capture
// reads OpenGL's front buffer, which Mesa's software renderer (Xvfb, most
// CI machines) leaves empty; the X server has what was drawn.
func platformCapture(w fyne.Window) image.Image {
	nw, ok := w.(driver.NativeWindow)
	if !ok {
		return nil
	}
	var handle uintptr
	nw.RunNative(func(ctx any) {
		if x, ok := ctx.(driver.X11WindowContext); ok {
			handle = x.WindowHandle
		}
	})
	if handle == 0 {
		return nil
	}
	var cw, ch C.int
	var buf *C.uchar
	if C.grab(C.ulong(handle), &cw, &ch, &buf) != 0 {
		return nil
	}
	defer C.free(unsafe.Pointer(buf))
	img := image.NewNRGBA(image.Rect(0, 0, int(cw), int(ch)))
	copy(img.Pix, unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(cw)*int(ch)*4))
	return img
}
