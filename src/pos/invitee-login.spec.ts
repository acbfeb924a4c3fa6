import { describe, expect, it } from '@jest/globals';
import { loginCandidates } from './invitee-login.js';

const claims = { lastName: 'Щукина', firstName: 'Юлия', middleName: 'Ёсифовна' };

describe('loginCandidates', () => {
  it('the address first, then the ФИО in Latin', () => {
    expect(loginCandidates('director.school5@example.ru', claims)).toEqual([
      'director.school5',
      'shchukina.iu.e',
    ]);
  });
  it('drops what a login cannot hold and a local part too short to read', () => {
    expect(loginCandidates('a+b@example.ru', claims)).toEqual(['shchukina.iu.e']);
    expect(loginCandidates('Ivan+Tag@example.ru', claims)[0]).toBe('ivantag');
  });
  it('always gives something', () => {
    expect(loginCandidates('x@example.ru', {})).toEqual(['user']);
  });
});
