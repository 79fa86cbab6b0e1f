package workload

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file holds the text the workload puts in payloads: system prompts,
// user messages carrying personal data, policy documents and answers. Sizes
// follow bench.md: system prompt ~1.5 KB, retrieved context ~2 KB, answer
// ~0.5 KB.

// systemPrompt returns the system instructions of one prompt version
// (~1.5 KB). Versions differ by a few sentences, as real releases do.
func systemPrompt(version int) string {
	var b strings.Builder
	b.WriteString("You are Nova, the customer support assistant for Parcelia, an online retailer. ")
	b.WriteString("Answer the customer's question using only the policy excerpts provided in the context block and the results of tools you call. ")
	b.WriteString("If the context does not contain the answer, say that you will escalate to a human agent and call escalate_to_human. ")
	b.WriteString("Never invent order numbers, amounts, tracking codes or dates. ")
	b.WriteString("Before issuing a refund, call lookup_order to read the order total and the items; a refund must never exceed the order total and must be expressed in cents. ")
	b.WriteString("Refunds above 50000 cents require a human agent. ")
	b.WriteString("Do not repeat payment card numbers, API keys, passwords or government identifiers back to the customer, even partially, and do not store them in tool arguments. ")
	b.WriteString("Address the customer by first name when known. Keep answers under 120 words, friendly and specific, in the customer's language. ")
	b.WriteString("When a shipment is delayed more than 5 business days, offer either a full refund or a free reshipment; when it is delayed less, offer a tracking update and a 10% voucher. ")
	b.WriteString("For damaged items, ask for a photo unless the order value is below 2000 cents. ")
	b.WriteString("Return the final answer as JSON with the keys answer (string), actions (array of strings) and needs_human (boolean). ")
	b.WriteString("Available tools: lookup_order(order_id), create_refund(order_id, refund_amount_cents, reason), update_shipping_address(order_id, address), resend_invoice(order_id, email), escalate_to_human(ticket_summary, priority). ")
	switch version % 4 {
	case 0:
		b.WriteString("Tone: warm and concise. Prefer bullet points for multi-step instructions. ")
	case 1:
		b.WriteString("Tone: professional. Always include the expected resolution date. Mention the voucher code only after the customer accepts the offer. ")
	case 2:
		b.WriteString("Tone: friendly. If the customer is upset, acknowledge it in the first sentence. Quote the policy section id you relied on in parentheses. ")
	default:
		b.WriteString("Tone: neutral. Ask at most one clarifying question. Never promise delivery dates that the carrier has not confirmed. ")
	}
	b.WriteString("Today's policies supersede anything the customer quotes from older emails. ")
	b.WriteString("If the customer asks about data deletion, point them to the privacy center and do not take any action yourself.")
	return b.String()
}

var firstNames = []string{"Alice", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas",
	"Kavya", "Lucas", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara", "Zoe"}

var lastNames = []string{"Martin", "Schmidt", "Nakamura", "Okafor", "Rossi", "Garcia", "Dubois", "Kowalski", "Nguyen",
	"Silva", "Andersen", "Haddad", "Patel", "Müller", "Ivanova", "Moreau"}

var mailDomains = []string{"example.com", "mail.example.org", "inbox.example.net", "corp.example.io"}

// cards are test card numbers (they pass the Luhn check, as redaction requires).
var cards = []string{"4111 1111 1111 1111", "5555-5555-5555-4444", "4012888888881881", "3782 822463 10005", "6011 1111 1111 1117"}

const apiKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// customer is the end user of one trace.
type customer struct {
	first, last string
	email       string
	phone       string
	card        string
	apiKey      string // "" when the user did not paste one
	orderID     string
	totalCents  int64
}

func newCustomer(r *rand.Rand) customer {
	c := customer{
		first: firstNames[r.IntN(len(firstNames))],
		last:  lastNames[r.IntN(len(lastNames))],
	}
	c.email = fmt.Sprintf("%s.%s%d@%s", strings.ToLower(c.first), strings.ToLower(asciiOnly(c.last)), r.IntN(1000), mailDomains[r.IntN(len(mailDomains))])
	c.phone = fmt.Sprintf("+1 (%03d) 555-%04d", 200+r.IntN(700), r.IntN(10000))
	c.card = cards[r.IntN(len(cards))]
	if r.IntN(5) == 0 {
		var k strings.Builder
		k.WriteString("sk-proj-")
		for range 40 {
			k.WriteByte(apiKeyAlphabet[r.IntN(len(apiKeyAlphabet))])
		}
		c.apiKey = k.String()
	}
	c.orderID = fmt.Sprintf("PA-%07d", r.IntN(10_000_000))
	c.totalCents = int64(1500 + r.IntN(40000))
	return c
}

func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 127 {
			return 'u'
		}
		return r
	}, s)
}

// Topics: what the customer writes about. The query is what retrieval searches for.
type topic struct {
	query   string
	action  string // tool called after lookup_order
	message string // format with customer fields
}

var topics = []topic{
	{"refund delayed package", "create_refund",
		"Hi, this is %s %s. My order %s still hasn't arrived, it was supposed to come last Tuesday and the tracking page has not changed in 8 days. I want a refund to my card %s please. You can reach me at %s or %s."},
	{"refund damaged item", "create_refund",
		"Hello, order %[3]s arrived but the ceramic lamp was broken into pieces. I paid with %[4]s. I'm %[1]s %[2]s, email %[5]s, phone %[6]s. Can I get my money back without sending it back?"},
	{"change shipping address", "update_shipping_address",
		"Hey, %s %s here. I moved last week and need order %s delivered to 42 Harbor Street, Apt 5, Springfield instead. My card on file is %s. Contact %s / %s if needed."},
	{"invoice copy request", "resend_invoice",
		"Good morning, I need a VAT invoice for order %[3]s for my expense report, please send it to %[5]s. Name on the card (%[4]s) is %[1]s %[2]s. My number is %[6]s."},
	{"complaint escalate manager", "escalate_to_human",
		"This is the third time I'm writing. Order %[3]s is a mess: wrong size, late, and nobody answers. I'm %[1]s %[2]s (%[5]s, %[6]s). I want to talk to a manager. Charge on %[4]s should be reversed."},
	{"refund partial missing items", "create_refund",
		"Hi, I'm %s %s. Order %s came with only 2 of the 3 items I paid for with %s. Please refund the missing one. Email %s, mobile %s."},
}

// userMessage renders the customer's message for a topic.
func userMessage(t topic, c customer, r *rand.Rand) string {
	m := fmt.Sprintf(t.message, c.first, c.last, c.orderID, c.card, c.email, c.phone)
	if c.apiKey != "" {
		m += " PS: your developer portal also rejects my integration key " + c.apiKey + ", is that related?"
	}
	if r.IntN(3) == 0 {
		m += " Thanks in advance, " + c.first + "."
	}
	return m
}

// policyDocs is the retrieval corpus: ~500-byte policy excerpts.
type policyDoc struct {
	id      string
	title   string
	content string
}

var policySentences = []string{
	"Orders shipped with standard delivery arrive within 3 to 5 business days in the contiguous United States.",
	"A shipment counts as delayed when the carrier has not reported a scan for more than 5 business days.",
	"Customers with a delayed shipment may choose a full refund to the original payment method or a free reshipment.",
	"Refunds are issued in the currency of the original order and never exceed the amount paid, shipping included.",
	"Refunds to credit cards take 5 to 10 business days to appear, depending on the issuing bank.",
	"Damaged items must be reported within 30 days of delivery; a photo is required for items above $20.",
	"Partial refunds apply when only some items of an order are missing or damaged.",
	"Address changes are possible until the parcel is handed to the carrier; after that a redirect fee of $4.99 applies.",
	"Invoices are generated at shipment and can be resent to the email address on the account.",
	"Business customers can request a VAT invoice with their company name and tax number.",
	"Escalations to a human agent are answered within 24 hours on business days.",
	"Vouchers are single-use, valid for 90 days and cannot be combined with other promotions.",
	"Refunds above $500 require approval by a human agent and are processed within 3 business days.",
	"Orders paid with gift cards are refunded as store credit.",
	"We never ask customers to send full card numbers or passwords by chat or email.",
	"International shipments may be held by customs for up to 10 business days; this does not count as a delay.",
}

func newPolicyDocs(r *rand.Rand, n int) []policyDoc {
	docs := make([]policyDoc, n)
	for i := range docs {
		var b strings.Builder
		for b.Len() < 420+r.IntN(200) {
			b.WriteString(policySentences[r.IntN(len(policySentences))])
			b.WriteByte(' ')
		}
		docs[i] = policyDoc{
			id:      fmt.Sprintf("doc_%03d", i+1),
			title:   fmt.Sprintf("Support policy §%d.%d", 1+i/8, 1+i%8),
			content: strings.TrimSpace(b.String()),
		}
	}
	return docs
}

var answerOpeners = []string{
	"I'm sorry about the trouble with your order, %s.",
	"Thanks for reaching out, %s, and apologies for the wait.",
	"Hi %s, I understand how frustrating this is.",
	"Thank you for your patience, %s.",
}

var answerBodies = map[string]string{
	"create_refund":           "I have issued a refund of %s to your original payment method. Depending on your bank it will appear within 5 to 10 business days, and you will receive a confirmation email shortly. If you would rather receive a free reshipment instead, just reply to this message and I will arrange it before the refund is settled.",
	"update_shipping_address": "I have updated the delivery address of your order. The carrier has not picked up the parcel yet, so no redirect fee applies, and the estimated delivery date stays the same. You will get a new tracking link by email within the hour.",
	"resend_invoice":          "I have resent the invoice for your order to the email address on your account. If you need a VAT invoice with your company name and tax number, reply with those details and I will generate a corrected copy within one business day.",
	"escalate_to_human":       "I have escalated your case to a senior support agent with high priority, including a summary of everything that went wrong. A human agent will contact you within 24 hours. I have also flagged the charge on your order for review so it is not lost in the handover.",
}

// answer renders the assistant's final answer (~0.5 KB).
func answer(action string, c customer, amountCents int64, r *rand.Rand) string {
	opener := fmt.Sprintf(answerOpeners[r.IntN(len(answerOpeners))], c.first)
	body := answerBodies[action]
	if action == "create_refund" {
		body = fmt.Sprintf(body, fmt.Sprintf("$%d.%02d", amountCents/100, amountCents%100))
	}
	return opener + " " + body + " Is there anything else I can help you with today?"
}
