package redact_test

import (
	"strings"
	"testing"

	"github.com/loupehq/loupe/sdk/redact"
)

// cleanText is a support-agent conversation as it reaches the server: a JSON
// message list with ids, timestamps, prices and order numbers, and no
// personal data.
const cleanText = `[{"role":"system","parts":[{"type":"text","content":"You are Acme's support agent. Answer politely and concisely. Use the tools to look up orders and issue refunds. Never promise a refund above the order total. Today is 2026-06-03."}]},` +
	`{"role":"user","parts":[{"type":"text","content":"Hi, I ordered the blue running shoes last week (order ORD-2026-000123) and they arrived in the wrong size. Can I get a refund? I paid $129.99 plus $7.50 shipping.\nThanks a lot for your help!"}]},` +
	`{"role":"assistant","parts":[{"type":"tool_call","id":"call_8f3a2b","name":"lookup_order","arguments":{"order_id":"ORD-2026-000123","include_items":true}}]},` +
	`{"role":"tool","parts":[{"type":"tool_call_response","id":"call_8f3a2b","result":{"order_id":"ORD-2026-000123","status":"delivered","total":137.49,"currency":"USD","created_at":"2026-05-27T09:14:03Z","delivered_at":"2026-05-30T16:42:11Z","items":[{"sku":"SHOE-BLU-42","qty":1,"price":129.99}],"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","request_id":"550e8400-e29b-41d4-a716-446655440000"}}]},` +
	`{"role":"assistant","parts":[{"type":"text","content":"I'm sorry about the mix-up! I can see order ORD-2026-000123 was delivered on May 30. Since it's within our 30-day return window, you're eligible for a full refund of $137.49 including shipping. Would you like me to start the refund now, or would you prefer an exchange for size 43?"}]},` +
	`{"role":"user","parts":[{"type":"text","content":"A refund please. Also, version 2.3.1 of your app crashes when I open the orders tab, just so you know."}]},` +
	`{"role":"assistant","parts":[{"type":"tool_call","id":"call_c91d07","name":"issue_refund","arguments":{"order_id":"ORD-2026-000123","amount":137.49,"reason":"wrong_size","idempotency_key":"rf-000123-01"}}]},` +
	`{"role":"tool","parts":[{"type":"tool_call_response","id":"call_c91d07","result":{"refund_id":"RF-88213","status":"pending","eta_days":5,"ts":1748970000123}}]},` +
	`{"role":"assistant","parts":[{"type":"text","content":"Done! Refund RF-88213 for $137.49 is on its way and should reach your account within 5 business days. Thanks for letting us know about the crash in 2.3.1; I've passed it to our engineers. Is there anything else I can help with?"}]}]`

// piiText is the same conversation with some personal data and a key.
var piiText = `[{"role":"user","parts":[{"type":"text","content":"Hi, this is Ana Garcia, my email is ana.garcia@example.com and my phone +44 20 7946 0958. I was charged twice on card 4111 1111 1111 1111 for order ORD-2026-000123 ($129.99)."}]},` +
	`{"role":"assistant","parts":[{"type":"tool_call","id":"call_8f3a2b","name":"lookup_customer","arguments":{"email":"ana.garcia@example.com","api_key":"sk-proj-4fJ9a8Lm2Qx7Vb1Nc3Zp5Rt6Yw0Hs9Kd"}}]},` +
	cleanText[1:]

func BenchmarkText(b *testing.B) {
	def := redact.Default([]byte("bench-secret"))
	all, err := redact.New(redact.Config{EnableIP: true, Custom: []redact.CustomRule{
		{Name: "order", Pattern: `ORD-[0-9]{4}-[0-9]{6}`},
	}}, []byte("bench-secret"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		r    *redact.Redactor
		in   string
	}{
		{"clean", def, cleanText},
		{"pii", def, piiText},
		{"prose", def, strings.Repeat("The quick brown fox jumps over the lazy dog while the agent retrieves documents. ", 40)},
		{"ip+custom_orders", all, cleanText}, // the custom rule redacts the order ids
	} {
		r := bc.r
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			var c redact.Counts
			for b.Loop() {
				r.Text(bc.in, &c)
			}
		})
	}
}

func BenchmarkAttr(b *testing.B) {
	r, err := redact.New(redact.Config{Keys: []redact.KeyRule{
		{Key: "http.request.header.*", Action: redact.ActionDrop},
		{Key: "*.password", Action: redact.ActionMask},
	}}, []byte("bench-secret"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var c redact.Counts
	for b.Loop() {
		r.Attr("gen_ai.request.model", "gpt-4o-mini", &c)
		r.Attr("loupe.route", "/v1/support/chat", &c)
	}
}

func BenchmarkHash(b *testing.B) {
	r := redact.Default([]byte("bench-secret"))
	b.ReportAllocs()
	for b.Loop() {
		r.Hash("user-9328")
	}
}
