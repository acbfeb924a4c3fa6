import { type Request, type Response } from 'express';
import { type AppConfig } from '../config/app-config.js';
import { type LoadedCertificate } from '../gosuslugi/esia/certificates.js';
import { verifyEsiaJwt } from '../gosuslugi/esia/token-verifier.js';
import { type EsiaStandInFault } from './esia-stand-in-tokens.js';
import { findTestPerson, type TestPerson } from './test-persons.js';

/**
 * The stand-in's /rs/prns/{oid} and its collections, answered as ЕСИА answers them, only to a
 * bearer token of the stand-in's that is current and about that person, and only with what its
 * scopes allow.
 */
export class StandInPersonData {
  constructor(
    private readonly config: AppConfig,
    private readonly tokenCertificates: LoadedCertificate[],
    /** Whether the next request was asked to fail this way (the request then consumes it). */
    private readonly takeFault: (fault: EsiaStandInFault) => boolean,
  ) {}

  /** The person the bearer token is about, if it is the stand-in's, current and for `:oid`. */
  private async bearer(req: Request): Promise<{ person: TestPerson; scopes: string[] } | null> {
    const token = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
    const claims = token
      ? await verifyEsiaJwt(token, this.tokenCertificates).catch(() => null)
      : null;
    const person = findTestPerson(String(req.params.oid));
    if (
      !claims ||
      !person ||
      String(claims['urn:esia:sbj_id']) !== String(person.oid) ||
      typeof claims.exp !== 'number' ||
      claims.exp * 1000 < Date.now()
    )
      return null;
    return { person, scopes: typeof claims.scope === 'string' ? claims.scope.split(' ') : [] };
  }

  async person(req: Request, res: Response): Promise<void> {
    if (this.takeFault('person_unavailable'))
      return void res.status(503).json({ error: 'unavailable' });
    const caller = await this.bearer(req);
    if (!caller) return void res.status(401).json({ error: 'unauthorized' });
    const { person, scopes } = caller;
    res.json({
      stateFacts: ['EntityRoot'],
      oid: person.oid,
      ...(scopes.includes('fullname') && {
        firstName: person.firstName,
        lastName: person.lastName,
        middleName: person.middleName,
      }),
      ...(scopes.includes('snils') && { snils: person.snils }),
      trusted: person.trusted,
      status: 'REGISTERED',
      verifying: false,
      updatedOn: Math.floor(Date.now() / 1000),
    });
  }

  /**
   * `ctts` (contacts, by scope: `email` EML, `mobile` MBT, `contacts` both), `roles` (scope
   * usr_org), `addrs` and `docs` (empty here). With `embed=(elements)` the elements come inline,
   * otherwise as links, as ЕСИА answers.
   */
  async collection(req: Request, res: Response): Promise<void> {
    const caller = await this.bearer(req);
    if (!caller) return void res.status(401).json({ error: 'unauthorized' });
    const { person, scopes } = caller;
    const collection = String(req.params.collection);
    if (collection === 'ctts' && this.takeFault('contacts_unavailable'))
      return void res.status(503).json({ error: 'unavailable' });
    const base = `${this.config.gosuslugi.esia?.preset.baseUrl}/rs/prns/${person.oid}/${collection}`;
    let elements: Record<string, unknown>[];
    switch (collection) {
      case 'ctts': {
        const types = [
          ...(scopes.includes('email') || scopes.includes('contacts') ? ['EML'] : []),
          ...(scopes.includes('mobile') || scopes.includes('contacts') ? ['MBT'] : []),
        ];
        if (types.length === 0) return void res.status(403).json({ error: 'forbidden' });
        elements = person.contacts
          .filter((contact) => types.includes(contact.type))
          .map((contact, index) => ({
            stateFacts: ['Identifiable'],
            id: person.oid * 10 + index,
            type: contact.type,
            vrfStu: contact.verified ? 'VERIFIED' : 'NOT_VERIFIED',
            value: contact.value,
          }));
        break;
      }
      case 'roles':
        if (!scopes.includes('usr_org')) return void res.status(403).json({ error: 'forbidden' });
        elements = person.organizations.map((org) => ({
          oid: org.oid,
          prnOid: person.oid,
          fullName: org.fullName,
          shortName: org.shortName,
          ogrn: org.ogrn,
          type: 'LEGAL',
          chief: org.chief,
          admin: org.admin,
          active: true,
          isLiquidated: false,
        }));
        // ЕСИА lists roles inline whether or not embed is asked for.
        return void res.json({ stateFacts: ['hasSize'], size: elements.length, elements });
      case 'addrs':
      case 'docs':
        elements = [];
        break;
      default:
        return void res.status(404).json({ error: 'not_found' });
    }
    const embed = req.query.embed === '(elements)';
    res.json({
      stateFacts: ['hasSize'],
      size: elements.length,
      elements: embed ? elements : elements.map((element) => `${base}/${String(element.id)}`),
    });
  }
}
