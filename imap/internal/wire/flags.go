package wire

const flagWildcard Flag = `\*`
