import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke } from '../../shared/canvas.ts'
import { postMessage } from '../../shared/chat.ts'

/** Updates covering every content kind yjs 13 encodes. */
export function sampleUpdates(): Uint8Array[] {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const stroke = addStroke(doc, { author: 'a', color: '#123456', width: 2, tool: 'pen', points: [[1, 2]] })
  appendPoints(stroke, [[3, 4], [5.5, -6.25]])
  postMessage(doc, { author: 'a', authorName: 'A', text: 'héllo ✓' })
  const text = doc.getText('text')
  text.insert(0, 'hello world', { bold: true })
  text.insertEmbed(5, { image: 'x.png' })
  text.format(0, 3, { italic: true })
  text.delete(1, 2)
  const map = doc.getMap('map')
  map.set('n', 1.5)
  map.set('big', 2n ** 40n)
  map.set('bin', new Uint8Array([1, 2, 3]))
  map.set('nested', { a: [1, null, true, 'x', { b: undefined }] })
  map.set('sub', new Y.Doc())
  const xml = doc.getXmlFragment('xml')
  const element = new Y.XmlElement('p')
  element.setAttribute('class', 'c')
  element.insert(0, [new Y.XmlText('t')])
  xml.insert(0, [element])
  doc.getXmlElement('root').insert(0, [new Y.XmlHook('hook') as unknown as Y.XmlElement])
  eraseStroke(doc, stroke.get('id') as string)
  updates.push(Y.encodeStateAsUpdate(doc))
  return updates
}
