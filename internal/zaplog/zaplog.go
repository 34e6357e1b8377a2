// Package zaplog builds the logger every command of this project writes with: JSON lines, or
// console lines with a short time for people (dev mode, --log-format console).
package zaplog

import (
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a logger writing to w at level in format "console" (readable, times as
// 15:04:05.000) or anything else for JSON. The caller has checked level with zapcore.ParseLevel;
// a level it cannot parse logs at info.
func New(w io.Writer, format, level string) *zap.Logger {
	lvl, _ := zapcore.ParseLevel(level)
	var enc zapcore.Encoder
	if format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl))
}
