import twilio from "twilio";

// TwiML for the confirmation call, built with the Twilio SDK's VoiceResponse.

/** Says who is calling and asks for 1 (approve) or 9 (not me); the question is asked twice. */
export function buildConfirmationTwiml({ portalName, gatherUrl }: { portalName: string; gatherUrl: string }): string {
  const response = new twilio.twiml.VoiceResponse();
  const question =
    `Hello, this is ${portalName}. Someone is logging in to your account. ` +
    "Press 1 to confirm your login, or press 9 if you did not try to log in.";
  const gather = response.gather({ numDigits: 1, action: gatherUrl, method: "POST", timeout: 8, actionOnEmptyResult: false });
  gather.say({ language: "en-GB" }, question);
  gather.pause({ length: 1 });
  gather.say({ language: "en-GB" }, question);
  response.say({ language: "en-GB" }, "No key was pressed. Your login was not confirmed. Goodbye.");
  response.hangup();
  return response.toString();
}

/** A short spoken answer, then the call ends. */
export function buildSpokenEndTwiml(message: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say({ language: "en-GB" }, message);
  response.hangup();
  return response.toString();
}
