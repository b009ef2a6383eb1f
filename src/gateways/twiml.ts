import twilio from "twilio";
import type { Locale, Translate } from "../i18n.js";

// TwiML for the confirmation call, built with the Twilio SDK's VoiceResponse, in the language of
// the person called (words from locales/<language>/phone.json).

/**
 * The voice for each language. Twilio's default voice speaks English only: Dutch needs a voice of
 * its own (Amazon Polly's Dutch voice), or the call would read Dutch words with English sounds.
 */
const voices: Record<Locale, { language: "en-GB" | "nl-NL"; voice?: "Polly.Lotte" }> = {
  en: { language: "en-GB" },
  nl: { language: "nl-NL", voice: "Polly.Lotte" },
};

/**
 * Says who is calling and asks for 1 (approve) or 9 (not me). When no key is pressed the question
 * is asked once more; after that the call says nothing was confirmed and ends.
 */
export function buildConfirmationTwiml({
  words,
  locale,
  portalName,
  gatherUrl,
}: {
  words: Translate;
  locale: Locale;
  portalName: string;
  gatherUrl: string;
}): string {
  const response = new twilio.twiml.VoiceResponse();
  const speech = voices[locale];
  const question = words("phone:call.question", { portalName });
  for (let asking = 0; asking < 2; asking += 1) {
    // A Gather that times out with no key goes on to the next verb: the second asking.
    const gather = response.gather({ numDigits: 1, action: gatherUrl, method: "POST", timeout: 8, actionOnEmptyResult: false });
    gather.say(speech, question);
  }
  response.say(speech, words("phone:call.noKey"));
  response.hangup();
  return response.toString();
}

/** A short spoken answer, then the call ends. */
export function buildSpokenEndTwiml({ message, locale }: { message: string; locale: Locale }): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(voices[locale], message);
  response.hangup();
  return response.toString();
}
