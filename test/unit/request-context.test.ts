import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalAddress, clientKeyOf } from "../../src/web/request-context.js";

test("an address has one spelling, whatever way it came written", () => {
  assert.equal(canonicalAddress("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(canonicalAddress("10.30.0.1:1234"), "10.30.0.1");
  assert.equal(canonicalAddress("2001:db8:1:2:0:0:0:1"), "2001:db8:1:2::1");
  assert.equal(canonicalAddress("[2001:DB8::1]:443"), "2001:db8::1");
  assert.equal(canonicalAddress("203.0.113.9"), "203.0.113.9");
});

test("limits count an IPv6 client by its /64, an IPv4 client by its address", () => {
  assert.equal(clientKeyOf("2001:db8:1:2::1"), clientKeyOf("2001:db8:1:2:ffff::9"));
  assert.notEqual(clientKeyOf("2001:db8:1:2::1"), clientKeyOf("2001:db8:1:3::1"));
  assert.equal(clientKeyOf("203.0.113.9"), "203.0.113.9");
});
