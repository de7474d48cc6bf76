package notify

import (
	"bytes"
	"html/template"
	"net/url"
	"strings"
)

// Alert composes the usual account alert from data, so that the code that
// raises one stays short and every alert looks alike: a heading, a few
// sentences, a table of facts, one link back to latch and a footer.
type Alert struct {
	Heading string      // "New sign-in to your account"
	Lines   []string    // plain sentences, one paragraph each
	Facts   [][2]string // label and value: {"Device", "Firefox on Windows"}
	Action  string      // link text: "Review your sessions"
	URL     string      // absolute http(s) URL to latch's own page
	Footer  string      // "If this wasn't you, ..."
}

// alertHTML is the HTML layout. Mail programs ignore style sheets more often
// than inline styles, so the styles are inline; there are no images and no
// links but the one to latch, so opening the message tells no one anything.
// html/template escapes every value, including the URL attribute.
var alertHTML = template.Must(template.New("alert").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f5;">
<div style="max-width:560px;margin:0 auto;padding:24px 16px;font-family:-apple-system,BlinkMacSystemFont,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#18181b;">
<div style="background-color:#ffffff;border:1px solid #e4e4e7;border-radius:8px;padding:24px;">
<h1 style="margin:0 0 16px;font-size:20px;line-height:1.3;">{{.Heading}}</h1>
{{- range .Lines}}
<p style="margin:0 0 16px;">{{.}}</p>
{{- end}}
{{- if .Facts}}
<table style="border-collapse:collapse;margin:0 0 16px;">
{{- range .Facts}}
<tr><th scope="row" style="text-align:left;vertical-align:top;padding:4px 16px 4px 0;font-weight:normal;color:#52525b;">{{index . 0}}</th><td style="padding:4px 0;">{{index . 1}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .URL}}
<p style="margin:8px 0 16px;"><a href="{{.URL}}" style="display:inline-block;padding:10px 18px;border-radius:6px;background-color:#18181b;color:#ffffff;text-decoration:none;">{{.Action}}</a></p>
{{- end}}
{{- if .Footer}}
<p style="margin:16px 0 0;font-size:14px;color:#52525b;">{{.Footer}}</p>
{{- end}}
</div>
</div>
</body>
</html>
`))

// Message renders the alert as a Message with a text and an HTML version
// of the same content. A URL that is not an absolute http or https URL is
// left out, link and all, rather than sent broken.
func (a Alert) Message(accountID, to, subject string) Message {
	if !absoluteHTTP(a.URL) {
		a.URL = ""
	}
	link := a.URL
	if a.Action != "" {
		link = a.Action + ": " + a.URL
	} else {
		a.Action = a.URL
	}

	var text strings.Builder
	text.WriteString(a.Heading + "\n")
	for _, l := range a.Lines {
		text.WriteString("\n" + l + "\n")
	}
	if len(a.Facts) > 0 {
		text.WriteString("\n")
		for _, f := range a.Facts {
			text.WriteString(f[0] + ": " + f[1] + "\n")
		}
	}
	if a.URL != "" {
		text.WriteString("\n" + link + "\n")
	}
	if a.Footer != "" {
		text.WriteString("\n" + a.Footer + "\n")
	}

	m := Message{AccountID: accountID, To: to, Subject: subject, Text: text.String()}
	var html bytes.Buffer
	// The template is fixed and its data are strings, so Execute fails only
	// on a bug the tests would catch; should it fail, the alert still goes
	// out as plain text.
	if err := alertHTML.Execute(&html, struct {
		Alert
		Subject string
	}{a, subject}); err == nil {
		m.HTML = html.String()
	}
	return m
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
